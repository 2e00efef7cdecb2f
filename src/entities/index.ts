import { ApiKey } from './api-key.ts';
import { DeadLetter, VerifyRun } from './dead-letter.ts';
import { Document, EventTypeSchema } from './documents.ts';
import { Erasure, ErasureRequest } from './erasure.ts';
import { AgentLog, ChatMessage, CustomEvent, DocumentEvent, Move, ParticipantEvent, QueueEvent, SessionEvent, TaskLog, TurnResult, Vote } from './events.ts';
import { Player, SeqConflict, SessionParticipant } from './player.ts';
import { JoinQueueEntry } from './queue.ts';
import { Session } from './session.ts';
import { SessionState } from './session-state.ts';
import { SessionSnapshot } from './snapshot.ts';
import { ApiRecord, SequenceCounter } from './stand-ins.ts';
import { LeaderboardArchive, LeaderboardBucket, PendingStat, PlayerStat, RatedSession, StatPeriod } from './stats.ts';

export { ApiKey, ApiRecord, Erasure, ErasureRequest, SequenceCounter, CustomEvent, Document, DocumentEvent, EventTypeSchema, SeqConflict, VerifyRun };
export { LeaderboardArchive, LeaderboardBucket, PendingStat, PlayerStat, RatedSession, StatPeriod };
export { AgentLog, ChatMessage, DeadLetter, JoinQueueEntry, Move, ParticipantEvent, Player, QueueEvent, Session, SessionEvent, SessionParticipant, SessionSnapshot, SessionState, TaskLog, TurnResult, Vote };
export { SESSION_STATUSES, type SessionStatus } from './session.ts';

export const ENTITIES = [
  Session, SessionState, SessionSnapshot, Player, SessionParticipant, SessionEvent, ParticipantEvent, Move, Vote, ChatMessage, TaskLog, TurnResult, AgentLog, QueueEvent, JoinQueueEntry, DeadLetter,
  PlayerStat, PendingStat, LeaderboardBucket, StatPeriod, LeaderboardArchive, RatedSession, VerifyRun, SeqConflict, ApiKey,
  DocumentEvent, CustomEvent, Document, EventTypeSchema, SequenceCounter, ApiRecord, Erasure, ErasureRequest,
];
