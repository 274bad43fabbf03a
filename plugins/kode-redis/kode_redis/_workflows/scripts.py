"""The Lua scripts of the ``redis`` workflow store: each write is one script, atomic in Redis.

Scripts get the namespace's key prefix in ``ARGV[1]`` and build the keys of rows they
find (a run's steps) from it: every key shares the namespace's hash tag, hence one
cluster slot. Caller-supplied parts arrive escaped (see :mod:`.schema`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

_HELPERS = """
local P = ARGV[1]
local function hash_table(key)
  local flat = redis.call('HGETALL', key)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
local function set_fields(key, fields)
  for name, value in pairs(fields) do
    if value == cjson.null then redis.call('HDEL', key, name)
    else redis.call('HSET', key, name, tostring(value)) end
  end
end
local function index_step(step_id, status, updated)
  if status == 'pending' then redis.call('ZADD', P .. ':pending', updated, step_id)
  else redis.call('ZREM', P .. ':pending', step_id) end
end
local function index_run(run_id, status, updated)
  redis.call('ZREM', P .. ':runs:running', run_id)
  redis.call('ZREM', P .. ':runs:finished', run_id)
  if status == 'running' then redis.call('ZADD', P .. ':runs:running', updated, run_id)
  elseif status == 'completed' or status == 'failed' or status == 'cancelled' then
    redis.call('ZADD', P .. ':runs:finished', updated, run_id)
  end
end
"""

#: ARGV: prefix, escaped run id, escaped workflow, run row JSON (every value a string, so
#: Lua never turns a 13-digit time into a float). Returns 0 if the run exists.
INSERT_RUN_LUA = (
    _HELPERS
    + """
local key = P .. ':run:' .. ARGV[2]
if redis.call('EXISTS', key) == 1 then return 0 end
local row = cjson.decode(ARGV[4])
set_fields(key, row)
-- The run's per-workflow index, so delete finds it without the caller knowing the name.
redis.call('HSET', key, 'wf_index', P .. ':runs:wf:' .. ARGV[3])
redis.call('ZADD', P .. ':runs', row.created_ms, row.run_id)
redis.call('ZADD', P .. ':runs:wf:' .. ARGV[3], row.created_ms, row.run_id)
redis.call('HINCRBY', P .. ':workflows', row.workflow, 1)
index_run(row.run_id, row.status, row.updated_ms)
return 1
"""
)

#: ARGV: prefix, escaped run id, JSON of the fields to set. Returns 0 if no run.
UPDATE_RUN_LUA = (
    _HELPERS
    + """
local key = P .. ':run:' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return 0 end
local fields = cjson.decode(ARGV[3])
set_fields(key, fields)
index_run(redis.call('HGET', key, 'run_id'), fields.status, fields.updated_ms)
return 1
"""
)

#: ARGV: prefix, escaped run id, run id. Deletes the run and everything of it; 1 if the
#: run existed.
DELETE_RUN_LUA = (
    _HELPERS
    + """
local key = P .. ':run:' .. ARGV[2]
local run = hash_table(key)
local steps_key = P .. ':steps:' .. ARGV[2]
for _, step_id in ipairs(redis.call('HVALS', steps_key)) do
  redis.call('DEL', P .. ':step:' .. step_id, P .. ':attempts:' .. step_id)
  redis.call('ZREM', P .. ':pending', step_id)
end
redis.call('DEL', steps_key, P .. ':state:' .. ARGV[2])
-- Out of the indexes even if the row is gone, so no sweep finds the id again.
redis.call('ZREM', P .. ':runs', ARGV[3])
redis.call('ZREM', P .. ':runs:running', ARGV[3])
redis.call('ZREM', P .. ':runs:finished', ARGV[3])
if run.run_id == nil then return 0 end
redis.call('DEL', key)
redis.call('ZREM', run.wf_index, run.run_id)
if redis.call('HINCRBY', P .. ':workflows', run.workflow, -1) <= 0 then
  redis.call('HDEL', P .. ':workflows', run.workflow)
end
return 1
"""
)

#: ARGV: prefix, escaped run id, step name, step id (escaped), step row JSON.
#: Returns 0 if the run already has a step of that name (HSETNX: the unique index).
INSERT_STEP_LUA = (
    _HELPERS
    + """
if redis.call('HSETNX', P .. ':steps:' .. ARGV[2], ARGV[3], ARGV[4]) == 0 then return 0 end
local row = cjson.decode(ARGV[5])
set_fields(P .. ':step:' .. ARGV[4], row)
redis.call('HSET', P .. ':attempts:' .. ARGV[4], row.attempt_count, ARGV[5])
index_step(ARGV[4], row.status, row.updated_ms)
return 1
"""
)

#: Store a run exactly as exported, at once. ARGV: prefix, escaped run id, escaped
#: workflow, run row JSON (as INSERT_RUN's), state JSON {name: value JSON}, steps JSON
#: [{name, id (escaped), row (step row JSON), attempts [attempt row JSON]}]. Returns 0
#: if the run exists, -1 if a step id or name is stored (nothing written), else 1.
IMPORT_RUN_LUA = (
    _HELPERS
    + """
local key = P .. ':run:' .. ARGV[2]
if redis.call('EXISTS', key) == 1 then return 0 end
local steps = cjson.decode(ARGV[6])
for _, step in ipairs(steps) do
  if redis.call('EXISTS', P .. ':step:' .. step.id) == 1 then return -1 end
  if redis.call('HEXISTS', P .. ':steps:' .. ARGV[2], step.name) == 1 then return -1 end
end
-- The run and its indexes, as INSERT_RUN_LUA writes them.
local row = cjson.decode(ARGV[4])
set_fields(key, row)
redis.call('HSET', key, 'wf_index', P .. ':runs:wf:' .. ARGV[3])
redis.call('ZADD', P .. ':runs', row.created_ms, row.run_id)
redis.call('ZADD', P .. ':runs:wf:' .. ARGV[3], row.created_ms, row.run_id)
redis.call('HINCRBY', P .. ':workflows', row.workflow, 1)
index_run(row.run_id, row.status, row.updated_ms)
for name, value in pairs(cjson.decode(ARGV[5])) do
  redis.call('HSET', P .. ':state:' .. ARGV[2], name, value)
end
-- Each step as INSERT_STEP_LUA and UPDATE_STEP_LUA leave it, with every attempt row.
for _, step in ipairs(steps) do
  redis.call('HSET', P .. ':steps:' .. ARGV[2], step.name, step.id)
  local fields = cjson.decode(step.row)
  set_fields(P .. ':step:' .. step.id, fields)
  for _, attempt in ipairs(step.attempts) do
    redis.call('HSET', P .. ':attempts:' .. step.id, cjson.decode(attempt).attempt_count, attempt)
  end
  index_step(step.id, fields.status, fields.updated_ms)
end
return 1
"""
)

#: ARGV: prefix, escaped run id, step name. Returns the step row's HGETALL, or nil.
GET_STEP_LUA = (
    _HELPERS
    + """
local step_id = redis.call('HGET', P .. ':steps:' .. ARGV[2], ARGV[3])
if not step_id then return false end
return redis.call('HGETALL', P .. ':step:' .. step_id)
"""
)

#: Apply the first update allowing the step's status. ARGV: prefix, escaped step id or
#: '' , escaped run id, step name, updates JSON [{from, changes, new_attempt}].
#: Returns nil (no step) or {applied 0/1, HGETALL of the row}.
UPDATE_STEP_LUA = (
    _HELPERS
    + """
local step_id = ARGV[2]
if step_id == '' then
  step_id = redis.call('HGET', P .. ':steps:' .. ARGV[3], ARGV[4])
  if not step_id then return false end
end
local key = P .. ':step:' .. step_id
local status = redis.call('HGET', key, 'status')
if not status then return false end
for _, update in ipairs(cjson.decode(ARGV[5])) do
  local allowed = update.from == cjson.null
  if not allowed then
    for _, s in ipairs(update.from) do if s == status then allowed = true end end
  end
  if allowed then
    if update.new_attempt then redis.call('HINCRBY', key, 'attempt_count', 1) end
    set_fields(key, update.changes)
    local row = hash_table(key)
    -- The attempt row is the step as it stands, begun when its attempt began.
    local attempts = P .. ':attempts:' .. step_id
    if update.new_attempt then row.created_ms = update.changes.updated_ms
    else
      local current = redis.call('HGET', attempts, row.attempt_count)
      if current then row.created_ms = cjson.decode(current).created_ms end
    end
    redis.call('HSET', attempts, row.attempt_count, cjson.encode(row))
    index_step(step_id, row.status, row.updated_ms)
    return {1, redis.call('HGETALL', key)}
  end
end
return {0, redis.call('HGETALL', key)}
"""
)

#: ARGV: prefix, escaped run id. Every step row of the run, one HGETALL each.
LIST_STEPS_LUA = (
    _HELPERS
    + """
local out = {}
for _, step_id in ipairs(redis.call('HVALS', P .. ':steps:' .. ARGV[2])) do
  out[#out + 1] = redis.call('HGETALL', P .. ':step:' .. step_id)
end
return out
"""
)

#: ARGV: prefix, escaped run id. Every attempt row (JSON) of every step of the run.
LIST_HISTORY_LUA = (
    _HELPERS
    + """
local out = {}
for _, step_id in ipairs(redis.call('HVALS', P .. ':steps:' .. ARGV[2])) do
  for _, row in ipairs(redis.call('HVALS', P .. ':attempts:' .. step_id)) do
    out[#out + 1] = row
  end
end
return out
"""
)

#: KEYS: the version hash. ARGV: prefix (unused), row JSON. Stores it unless it exists.
INSERT_VERSION_LUA = (
    _HELPERS
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
set_fields(KEYS[1], cjson.decode(ARGV[2]))
return 1
"""
)

#: KEYS: the version hash. ARGV: prefix (unused), status. Returns 0 if no version.
SET_VERSION_STATUS_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
return 1
"""

#: KEYS: lease, fence. ARGV: owner, lease ms. Returns the token, or nil.
LOCK_ACQUIRE_LUA = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false
"""

#: KEYS: lease. ARGV: owner, lease ms. Returns 1 if still the owner's.
LOCK_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

#: KEYS: lease. ARGV: owner. The fence is left alone.
LOCK_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@attrs.frozen
class WorkflowScripts:
    """The scripts registered on one client (``EVALSHA``, reloaded after a server restart)."""

    insert_run: AsyncScript
    update_run: AsyncScript
    delete_run: AsyncScript
    insert_step: AsyncScript
    get_step: AsyncScript
    update_step: AsyncScript
    list_steps: AsyncScript
    list_history: AsyncScript
    insert_version: AsyncScript
    set_version_status: AsyncScript
    lock_acquire: AsyncScript
    lock_renew: AsyncScript
    lock_release: AsyncScript
    import_run: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> WorkflowScripts:
        """Register every script on ``client``: no I/O (the digests are computed here)."""
        return cls(
            *(
                client.register_script(text)
                for text in (
                    INSERT_RUN_LUA,
                    UPDATE_RUN_LUA,
                    DELETE_RUN_LUA,
                    INSERT_STEP_LUA,
                    GET_STEP_LUA,
                    UPDATE_STEP_LUA,
                    LIST_STEPS_LUA,
                    LIST_HISTORY_LUA,
                    INSERT_VERSION_LUA,
                    SET_VERSION_STATUS_LUA,
                    LOCK_ACQUIRE_LUA,
                    LOCK_RENEW_LUA,
                    LOCK_RELEASE_LUA,
                    IMPORT_RUN_LUA,
                )
            )
        )
