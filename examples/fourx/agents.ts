/**
 * The LLM agents that play the 4X empires, simulated: each turn an agent gets a prompt describing its
 * empire, "thinks" (reasoning models spend thinking tokens), and answers with an order as JSON. The
 * call is logged as the seed's prompt_logs are: model, provider, prompt and response, prompt /
 * completion / thinking tokens, latency. The order comes out of the response text, so a restarted
 * server that finds the log recovers the decision without asking the model again.
 */
import type { Rng } from '../lib/rng.ts';
import { frontier, possible, type Order, type World } from './world.ts';

export interface Agent {
  name: string;
  personality: 'aggressive' | 'defensive' | 'expansionist' | 'scientific';
  model: string;
  provider: string;
  /** A reasoning model: its calls spend thinking tokens. */
  thinks: boolean;
}

export const AGENTS: readonly Agent[] = [
  { name: 'Alice', personality: 'aggressive', model: 'llama-3.1-8b-instruct', provider: 'ollama', thinks: false },
  { name: 'Bob', personality: 'defensive', model: 'qwen2.5-7b-instruct', provider: 'ollama', thinks: false },
  { name: 'Chen', personality: 'expansionist', model: 'deepseek-r1-distill-14b', provider: 'vllm', thinks: true },
  { name: 'Dana', personality: 'scientific', model: 'deepseek-r1-distill-14b', provider: 'vllm', thinks: true },
];

/** How much each personality likes each kind of order. */
const TASTE: Record<Agent['personality'], Record<Order['action'], number>> = {
  aggressive: { attack: 6, build: 4, expand: 2, research: 1, trade: 1 },
  defensive: { build: 4, research: 3, expand: 2, trade: 2, attack: 1 },
  expansionist: { expand: 6, build: 2, trade: 2, research: 1, attack: 2 },
  scientific: { research: 6, expand: 3, trade: 2, build: 1, attack: 1 },
};

export function prompt(w: World, player: string, agent: Agent, turn: number): string {
  const e = w.empires[player];
  const { free, enemy } = frontier(w, player);
  return [
    `You are ${agent.name}, a ${agent.personality} ruler. Turn ${turn}.`,
    `Resources: food ${e.food}, production ${e.production}, gold ${e.gold}, science ${e.science}. Tech ${e.tech}, units ${e.units}.`,
    `Free tiles next to you: ${free.join(' ') || 'none'}. Enemy tiles next to you: ${enemy.join(' ') || 'none'}.`,
    'Answer with one JSON order: {"action": "expand|build|research|attack|trade", "target": "x,y"?, "reason": "..."}',
  ].join('\n');
}

/** The agent's answer: an order it may give, weighted by its personality. */
export function decide(w: World, player: string, agent: Agent, rng: Rng): { order: Order; response: string } {
  const options = possible(w, player);
  const weights = options.map((o) => TASTE[agent.personality][o.action]);
  let r = rng.next() * weights.reduce((a, b) => a + b, 0);
  const order = options.find((_, i) => (r -= weights[i]) < 0) ?? options[options.length - 1];
  return { order, response: JSON.stringify({ ...order, reason: `${agent.personality} play` }) };
}

/** What the call cost: tokens roughly a quarter of the characters, thinking and latency drawn. */
export function usage(agent: Agent, promptText: string, response: string, rng: Rng) {
  const promptTokens = Math.ceil(promptText.length / 4) + rng.int(0, 40);
  const completionTokens = Math.ceil(response.length / 4) + rng.int(0, 10);
  const thinkingTokens = agent.thinks ? rng.int(150, 900) : 0;
  const latencyMs = Math.round(200 + (completionTokens + thinkingTokens) * (8 + rng.next() * 12));
  return { promptTokens, completionTokens, ...(agent.thinks ? { thinkingTokens } : {}), latencyMs };
}

/** The order a logged response carries (the JSON the agent answered with). */
export function orderOf(response: string): Order {
  const { action, target } = JSON.parse(response) as Order;
  return { action, ...(target !== undefined ? { target } : {}) };
}
