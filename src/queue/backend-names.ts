/**
 * The two places the events queue can live (GP_QUEUE_BACKEND). A module of its own: the configuration
 * validates against the list, and the queue code (which the producer SDK ships) names the type without
 * loading the configuration.
 */
export const QUEUE_BACKENDS = ['redis', 'postgres'] as const;
export type QueueBackend = (typeof QUEUE_BACKENDS)[number];
