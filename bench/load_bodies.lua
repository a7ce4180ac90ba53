-- wrk script for bench/load_bench.py: post_bodies.lua (unique eventIds per request), plus
-- a pace (each connection waits PACE_MS between requests) and a tally of status codes.
--
--   wrk -s bench/load_bodies.lua URL -- TEMPLATES_FILE RUN_TAG PACE_MS
--
-- done() prints "WRK_JSON {...}" as post_bodies.lua does, with "statuses": {"200": n, ...}.

dofile("bench/post_bodies.lua")

local post_init, post_setup = init, setup
local pace_ms = 0
local load_threads = {}
statuses = {}

function setup(thread)
   post_setup(thread)
   table.insert(load_threads, thread)
end

function init(args)
   post_init(args)
   pace_ms = tonumber(args[3] or "0")
end

function delay()
   return pace_ms
end

function response(status, headers, body)
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
   local totals = {}
   for _, thread in ipairs(load_threads) do
      for status, n in pairs(thread:get("statuses")) do
         totals[status] = (totals[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(totals) do
      table.insert(parts, string.format('"%s": %d', status, n))
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, '
         .. '"write_errors": %d, "timeouts": %d, "latency_p50_us": %d, "latency_p99_us": %d, '
         .. '"statuses": {%s}}\n',
      summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99), table.concat(parts, ", ")))
end
