-- wrk script: POST JSON bodies built from templates, with every eventId unique.
--
--   wrk -s bench/post_bodies.lua URL -- TEMPLATES_FILE RUN_TAG
--
-- TEMPLATES_FILE holds one JSON body per line; "@ID@" marks where a per-request
-- prefix goes (eventIds are "@ID@-<n>"). Requests cycle through the templates. wrk
-- would otherwise replay one body, and the server would store only its first copy.
-- done() prints one line "WRK_JSON {...}" with the totals the benchmark reads.

local templates = {}
local counter = 0
local tag = ""
local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_no", #threads)
end

local function split(line)
   local parts, start = {}, 1
   while true do
      local i, j = string.find(line, "@ID@", start, true)
      if not i then
         table.insert(parts, string.sub(line, start))
         return parts
      end
      table.insert(parts, string.sub(line, start, i - 1))
      table.insert(parts, "")  -- the slot of the per-request prefix
      start = j + 1
   end
end

function init(args)
   for line in io.lines(args[1]) do
      if #line > 0 then
         table.insert(templates, split(line))
      end
   end
   tag = args[2] .. "t" .. thread_no
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local parts = templates[(counter - 1) % #templates + 1]
   local prefix = tag .. "r" .. counter
   for k = 2, #parts, 2 do
      parts[k] = prefix
   end
   return wrk.format(nil, nil, nil, table.concat(parts))
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, '
         .. '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, '
         .. '"latency_p50_us": %d, "latency_p99_us": %d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
      e.timeout, latency:percentile(50), latency:percentile(99)))
end
