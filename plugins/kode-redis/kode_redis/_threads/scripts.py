"""The Lua scripts of the ``redis`` thread and run stores: each write is one script.

Every script takes the same KEYS: a thread's hash, its sequence index and its
message bodies (those of the thread concerned, or of a placeholder thread), then
the namespace-wide keys in :data:`~kode_redis._threads.schema.NAMESPACE_KEYS`'s
order. A script is atomic in Redis, so numbering messages, cascading a delete and
claiming an approval never interleave with another writer, in any process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

_HEADER = r"""
local TH, SEQ, BODY = KEYS[1], KEYS[2], KEYS[3]
local BY_UPDATE, BY_RES, MEMORY, RUNS, RUN_META = KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local RUNS_BY_THREAD, APPR, APPR_BY_RUN, PENDING = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local DECISIONS, SCORES, SCORE_BODY, SCORE_SEQ = KEYS[13], KEYS[14], KEYS[15], KEYS[16]
local AG_THREADS, AG_RUNS, AGENTS = KEYS[17], KEYS[18], KEYS[19]
local function members(key, prefix)
  return redis.call('ZRANGEBYLEX', key, '[' .. prefix .. '\0', '(' .. prefix .. '\1')
end
local function drop(key, prefix)
  redis.call('ZREMRANGEBYLEX', key, '[' .. prefix .. '\0', '(' .. prefix .. '\1')
end
local function last_part(member) return string.match(member, '([^%z]*)$') end
local function load_run(run)
  local body = redis.call('HGET', RUNS, run)
  if not body then return false end
  local out = {run, body}
  for _, m in ipairs(members(APPR_BY_RUN, run)) do
    local tc = last_part(m)
    out[#out + 1] = tc
    out[#out + 1] = redis.call('HGET', APPR, tc) or ''
    out[#out + 1] = redis.call('HGET', DECISIONS, tc) or ''
  end
  return out
end
local function add_approval(run, tc, row, decision)
  redis.call('HSET', APPR, tc, row)
  redis.call('ZADD', APPR_BY_RUN, 0, run .. '\0' .. tc)
  if decision == '' then redis.call('HSET', PENDING, tc, run)
  else redis.call('HSET', DECISIONS, tc, decision) end
end
local function forget_approval(tc)
  redis.call('HDEL', APPR, tc)
  redis.call('HDEL', PENDING, tc)
  redis.call('HDEL', DECISIONS, tc)
end
"""

#: ARGV: thread id, resource id, created_ms, updated_ms, body. 0 if the thread exists.
CREATE_THREAD = r"""
if redis.call('EXISTS', TH) == 1 then return 0 end
redis.call('HSET', TH, 'resource_id', ARGV[2], 'created_ms', ARGV[3], 'updated_ms', ARGV[4],
           'body', ARGV[5], 'next_seq', '0')
redis.call('ZADD', BY_UPDATE, ARGV[4], ARGV[1])
redis.call('ZADD', BY_RES, 0, ARGV[2] .. '\0' .. ARGV[1])
return 1
"""

#: ARGV: thread id, updated_ms, then (message id, body) pairs. 0 if there is no thread.
APPEND_MESSAGES = r"""
if redis.call('EXISTS', TH) == 0 then return 0 end
local seq = tonumber(redis.call('HGET', TH, 'next_seq'))
for i = 3, #ARGV, 2 do
  if redis.call('HSETNX', BODY, ARGV[i], ARGV[i + 1]) == 1 then
    seq = seq + 1
    redis.call('ZADD', SEQ, seq, ARGV[i])
  end
end
local updated = math.max(tonumber(redis.call('HGET', TH, 'updated_ms')), tonumber(ARGV[2]))
updated = string.format('%.0f', updated)
redis.call('HSET', TH, 'next_seq', string.format('%.0f', seq), 'updated_ms', updated)
redis.call('ZADD', BY_UPDATE, updated, ARGV[1])
return 1
"""

#: ARGV: message id to read before ('' none), how many (-1 all). false if not there.
LOAD_MESSAGES = r"""
local max = '+inf'
if ARGV[1] ~= '' then
  local seq = redis.call('ZSCORE', SEQ, ARGV[1])
  if not seq then return false end
  max = '(' .. seq
end
local ids = redis.call('ZREVRANGEBYSCORE', SEQ, max, '-inf', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = #ids, 1, -1 do out[#out + 1] = redis.call('HGET', BODY, ids[i]) end
return out
"""

#: ARGV: thread id. Deletes the thread and everything of it; 1 if the thread existed.
DELETE_THREAD = r"""
local T = ARGV[1]
local existed = redis.call('EXISTS', TH)
if existed == 1 then
  redis.call('ZREM', BY_RES, redis.call('HGET', TH, 'resource_id') .. '\0' .. T)
end
redis.call('DEL', TH, SEQ, BODY)
redis.call('ZREM', BY_UPDATE, T)
redis.call('HDEL', MEMORY, 'thread\0' .. T)
for _, m in ipairs(members(RUNS_BY_THREAD, T)) do
  local run = last_part(m)
  local meta = redis.call('HGET', RUN_META, run)
  if meta then
    local agent = cjson.decode(meta)[2]
    local pair = agent .. '\0' .. T
    if redis.call('HINCRBY', AG_RUNS, pair, -1) <= 0 then
      redis.call('HDEL', AG_RUNS, pair)
      redis.call('ZREM', AG_THREADS, pair)
    end
    if tonumber(redis.call('ZINCRBY', AGENTS, -1, agent)) <= 0 then
      redis.call('ZREM', AGENTS, agent)
    end
  end
  for _, a in ipairs(members(APPR_BY_RUN, run)) do forget_approval(last_part(a)) end
  drop(APPR_BY_RUN, run)
  for _, s in ipairs(members(SCORES, run)) do redis.call('HDEL', SCORE_BODY, s) end
  drop(SCORES, run)
  redis.call('HDEL', RUNS, run)
  redis.call('HDEL', RUN_META, run)
end
drop(RUNS_BY_THREAD, T)
return existed
"""

#: ARGV: run id, thread id, agent name, body, meta JSON, by-thread member, then
#: (tool call id, approval row JSON, decision or '') triples. -1: the run exists;
#: -2: a tool call id is stored; nothing is written then.
CREATE_RUN = r"""
local run = ARGV[1]
if redis.call('HEXISTS', RUNS, run) == 1 then return -1 end
for i = 7, #ARGV, 3 do
  if redis.call('HEXISTS', APPR, ARGV[i]) == 1 then return -2 end
end
redis.call('HSET', RUNS, run, ARGV[4])
redis.call('HSET', RUN_META, run, ARGV[5])
redis.call('ZADD', RUNS_BY_THREAD, 0, ARGV[6])
local pair = ARGV[3] .. '\0' .. ARGV[2]
redis.call('HINCRBY', AG_RUNS, pair, 1)
redis.call('ZADD', AG_THREADS, 0, pair)
redis.call('ZINCRBY', AGENTS, 1, ARGV[3])
for i = 7, #ARGV, 3 do add_approval(run, ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return 1
"""

#: ARGV: run id, the body the update was planned from, the new body, '1' to replace
#: the pending approvals (then triples as in CREATE_RUN) or '0'. 0: no run; -1: the
#: body changed meanwhile (plan again); -2: a tool call id belongs to another run.
UPDATE_RUN = r"""
local run = ARGV[1]
local current = redis.call('HGET', RUNS, run)
if not current then return 0 end
if current ~= ARGV[2] then return -1 end
if ARGV[4] == '1' then
  local new = {}
  for i = 5, #ARGV, 3 do
    new[ARGV[i]] = true
    local row = redis.call('HGET', APPR, ARGV[i])
    if row and cjson.decode(row)[1] ~= run then return -2 end
  end
  for _, m in ipairs(members(APPR_BY_RUN, run)) do
    local tc = last_part(m)
    if redis.call('HEXISTS', PENDING, tc) == 1 or new[tc] then
      forget_approval(tc)
      redis.call('ZREM', APPR_BY_RUN, m)
    end
  end
  for i = 5, #ARGV, 3 do add_approval(run, ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
end
redis.call('HSET', RUNS, run, ARGV[3])
return 1
"""

#: ARGV: tool call id, "<decision>:<resolved_ms>". 1 for the one caller that claimed it.
CLAIM = r"""
if redis.call('HDEL', PENDING, ARGV[1]) == 0 then return 0 end
redis.call('HSET', DECISIONS, ARGV[1], ARGV[2])
return 1
"""

#: ARGV: run id.
LOAD_RUN = "return load_run(ARGV[1])"

#: ARGV: tool call id: the run holding it pending, or false.
PENDING_RUN = r"""
local run = redis.call('HGET', PENDING, ARGV[1])
if not run then return false end
return load_run(run)
"""

#: ARGV: thread id: its runs, newest first (created_ms desc, run id desc).
THREAD_RUNS = r"""
local found = members(RUNS_BY_THREAD, ARGV[1])
local out = {}
for i = #found, 1, -1 do
  local run = load_run(last_part(found[i]))
  if run then out[#out + 1] = run end
end
return out
"""

#: ARGV: run id, body.
ADD_SCORE = r"""
local seq = redis.call('INCR', SCORE_SEQ)
local member = ARGV[1] .. '\0' .. string.format('%020d', seq)
redis.call('ZADD', SCORES, 0, member)
redis.call('HSET', SCORE_BODY, member, ARGV[2])
return 1
"""

#: ARGV: run id: its score bodies in the order added.
SCORES = r"""
local out = {}
for _, m in ipairs(members(SCORES, ARGV[1])) do
  out[#out + 1] = redis.call('HGET', SCORE_BODY, m)
end
return out
"""


@attrs.frozen
class ConversationScripts:
    """The scripts registered on one client (``EVALSHA``, reloaded after a restart)."""

    create_thread: AsyncScript
    append_messages: AsyncScript
    load_messages: AsyncScript
    delete_thread: AsyncScript
    create_run: AsyncScript
    update_run: AsyncScript
    claim: AsyncScript
    load_run: AsyncScript
    pending_run: AsyncScript
    thread_runs: AsyncScript
    add_score: AsyncScript
    scores: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> ConversationScripts:
        texts = (
            CREATE_THREAD,
            APPEND_MESSAGES,
            LOAD_MESSAGES,
            DELETE_THREAD,
            CREATE_RUN,
            UPDATE_RUN,
            CLAIM,
            LOAD_RUN,
            PENDING_RUN,
            THREAD_RUNS,
            ADD_SCORE,
            SCORES,
        )
        return cls(*(client.register_script(_HEADER + text) for text in texts))
