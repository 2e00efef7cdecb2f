import { defineEntity, p } from '@mikro-orm/core';

export const SESSION_STATUSES = ['created', 'started', 'finished', 'abandoned'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/**
 * One game session (room, match, world): a function of its events in (seq, id) order, whatever order
 * they arrive in (docs/contract.md, "The ordering rule"). Created by its first event.
 */
export const Session = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: p.text().primary(),
    tenant: p.text().nullable(),
    /**
     * From the first session.created (`confined`): the session counts only in its tenant's statistics,
     * boards and ratings, and names no global player (docs/http.md, "Tenants").
     */
    confined: p.boolean().default(false),
    gameType: p.text().nullable(),
    name: p.text().nullable(),
    createdBy: p.text().nullable(),
    status: p.enum(SESSION_STATUSES).default('created'),
    settings: p.json<Record<string, unknown>>().nullable(),
    winners: p.json<string[]>().nullable(),
    finalScores: p.json<Record<string, number>>().nullable(),
    result: p.text().nullable(),
    endReason: p.text().nullable(),
    createdAt: p.datetime().nullable(),
    startedAt: p.datetime().nullable(),
    endedAt: p.datetime().nullable(),
    firstEventAt: p.datetime(),
    lastEventAt: p.datetime(),
    /** Highest sequence number stored so far (not necessarily contiguous). */
    lastSeq: p.bigint('number').default(0),
    /**
     * Highest sequence number a producer reported issuing (an issued-seq report, sent after its Redis
     * rolled back): every seq up to it is expected, so one never stored is a gap, given up and counted
     * in lost_seqs like any other. 0: none reported.
     */
    issuedSeq: p.bigint('number').default(0),
    eventCount: p.bigint('number').default(0),
    /** Every seq 1..applied_seq is stored (or given up as lost), and the live state is folded through it. */
    appliedSeq: p.bigint('number').default(0),
    /** Since when a sequence gap has held events back (null: none). */
    gapSince: p.datetime().nullable(),
    /** Highest sequence number of a stored turn result. */
    lastTurnSeq: p.bigint('number').default(0),
    /** Highest seq of a stored doc.put / doc.delete: whether documents wait behind the watermark. */
    lastDocSeq: p.bigint('number').default(0),
    /** Turn results (before the end) are folded into session_states through this sequence number. */
    stateSeq: p.bigint('number').default(0),
    /** Sequence numbers given up as lost after a gap timed out (they count as present for contiguity). */
    lostSeqs: p.bigint('number').default(0),
    /** Some stored turn result is beyond state_seq (waiting for a gap); when false the fold needs no read-back. */
    turnsWaiting: p.boolean().default(false),
    /** Turn at which the last snapshot was scheduled (scheduled once, in the transaction that made it due). */
    snapshotTurn: p.integer().nullable(),
    /** When the last snapshot was scheduled. */
    snapshotAt: p.datetime().nullable(),
    /**
     * Positions (seq, id) of the events that set each group of fields: the first session.created, the
     * first session.started, the latest created/started carrying settings, and the end (the first
     * session.finished or session.abandoned). An event positioned before the stored one replaces it.
     */
    createdSeq: p.bigint('number').nullable(),
    createdId: p.uuid().nullable(),
    startedSeq: p.bigint('number').nullable(),
    startedId: p.uuid().nullable(),
    settingsSeq: p.bigint('number').nullable(),
    settingsId: p.uuid().nullable(),
    endSeq: p.bigint('number').nullable(),
    endId: p.uuid().nullable(),
    /** finished or abandoned, from the end event (status may also be abandoned by idleness, without one). */
    endType: p.text().nullable(),
    /** settings.idleTimeoutS of the session (seconds; 0 = never idle); null: the game type's or the default. */
    idleTimeoutS: p.integer().nullable(),
    /** When the clean-up marked the session idle (status abandoned, reason inactive); cleared by its next event. */
    idleAt: p.datetime().nullable(),
    /** When the session became final: it has an end and every seq up to the end's is stored. */
    finalAt: p.datetime().nullable(),
    /** Events that share their seq with another event of the session (see seq_conflicts). */
    seqConflicts: p.integer().default(0),
    /**
     * The seqs stored above applied_seq while a gap is open, so the batch that fills the gap finds how far
     * the history is contiguous (and any seq taken twice) without reading the event tables; null when
     * unknown (more than a thousand, or from before this column): then they are read.
     */
    aheadSeqs: p.array<number>().columnType('bigint[]').nullable().defaultRaw(`'{}'`),
    /** When ratings were updated from this finished session (once; see rated_sessions). */
    ratedAt: p.datetime().nullable(),
    /** The session's rating input changed after it was rated (a late outcome): `rebuild` re-rates. */
    ratingStale: p.boolean().default(false),
    /**
     * A final, finished session with seqs given up as lost waits to be rated until no job up to this id
     * is left in the events queue (the newest job id when the ratings run first found it): until then a
     * job held by a crashed worker, or retried after a failure, may still bring the given-up events.
     * Cleared when a gap of the session is given up again.
     */
    ratingHorizon: p.bigint('number').nullable(),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
  // Every batch updates last_seq/last_event_at/event_count: none of them is indexed, so those updates
  // stay HOT (no index writes). Active-session scans go through (status).
  // The time columns below change at most once or twice per session, so batch updates stay HOT.
  indexes: [
    { properties: ['tenant', 'status'] },
    { properties: ['status'] },
    { properties: ['tenant', 'firstEventAt'] },
    { properties: ['firstEventAt'] },
    { properties: ['startedAt'] },
    { properties: ['endedAt'] },
    { name: 'sessions_gap_idx', expression: `create index "sessions_gap_idx" on "sessions" ("gap_since") where "gap_since" is not null` },
    { name: 'sessions_rating_stale_idx', expression: `create index "sessions_rating_stale_idx" on "sessions" ("id") where "rating_stale"` },
    {
      name: 'sessions_unrated_idx',
      expression: `create index "sessions_unrated_idx" on "sessions" ("ended_at") where "status" = 'finished' and "rated_at" is null`,
    },
  ],
});
