-- wrk script: each request posts a batch of 500 heartbeat/reading events with fresh ids,
-- from one of the bench's devices (tokens in bench/.tokens, one per line).
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local size = tonumber(os.getenv("BENCH_BATCH") or "500")
local counter = 0
local threads = 0

-- Runs in the main Lua state: give every thread its own id prefix, so ids never collide.
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads .. "-" .. os.time())
end

request = function()
  counter = counter + 1
  local token = tokens[(counter % #tokens) + 1]
  local ts = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local parts = {}
  for i = 1, size do
    if i % 5 == 0 then
      parts[i] = string.format('{"id":"%s-%d-%d","ts":"%s","type":"heartbeat","values":{"battery_pct":87}}', thread_id, counter, i, ts)
    else
      parts[i] = string.format('{"id":"%s-%d-%d","ts":"%s","type":"reading","values":{"temperature":%d.5}}', thread_id, counter, i, ts, 20 + i % 7)
    end
  end
  local body = '{"events":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/api/v1/ingest", {["Authorization"] = "Device " .. token, ["Content-Type"] = "application/json"}, body)
end
