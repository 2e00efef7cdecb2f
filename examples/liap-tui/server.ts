/** The Liap Tui game server (seed 001): `node examples/liap-tui/server.ts`, env as in examples/README.md. */
import { main } from '../lib/game-main.ts';
import { liapTui } from './game.ts';

main(liapTui);
