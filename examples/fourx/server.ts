/** The 4X game server with LLM agents (seed 004): `node examples/fourx/server.ts`, env as in examples/README.md. */
import { main } from '../lib/game-main.ts';
import { fourx } from './game.ts';

main(fourx);
