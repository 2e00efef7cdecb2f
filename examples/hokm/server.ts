/** The Hokm game server (seed 002): `node examples/hokm/server.ts`, env as in examples/README.md. */
import { main } from '../lib/game-main.ts';
import { hokm } from './game.ts';

main(hokm);
