-- wrk script: cycles through pre-generated, uniquely signed Standard Webhooks deliveries.
--
--   wrk -t T -c C -d <S+grace>s --latency -s bench/loadgen.lua URL -- <requests.tsv> <body.json> <T> <S>
--
-- requests.tsv holds one "webhook-id<TAB>webhook-timestamp<TAB>webhook-signature" per line; thread i
-- sends lines i, i+T, i+2T, ... so no request repeats within a run (unless the pool wraps: reported).
-- Each thread sends for S seconds, then stops sending (delay() parks every connection) and lets the
-- requests in flight finish during the grace period, so every request sent is answered and counted.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
   return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   local f = assert(io.open(args[2], "rb"))
   body = f:read("*a")
   f:close()
   local nthreads = tonumber(args[3])
   seconds = tonumber(args[4])
   ids, stamps, sigs = {}, {}, {}
   local i = 0
   for line in io.lines(args[1]) do
      if i % nthreads == tid then
         local id, ts, sig = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)$")
         ids[#ids + 1], stamps[#stamps + 1], sigs[#sigs + 1] = id, ts, sig
      end
      i = i + 1
   end
   idx, wrapped, sent = 0, 0, 0
   first_sent, last_answer, deadline = 0, 0, nil
   s202, s200, s4xx, s5xx, sother = 0, 0, 0, 0, 0
end

function delay()
   if deadline ~= nil and now() >= deadline then
      return 3600000 -- park this connection until wrk stops
   end
   return 0
end

function request()
   if deadline == nil then
      first_sent = now()
      deadline = first_sent + seconds
   end
   sent = sent + 1
   idx = idx + 1
   if idx > #ids then
      idx, wrapped = 1, wrapped + 1
   end
   return wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["webhook-id"] = ids[idx],
      ["webhook-timestamp"] = stamps[idx],
      ["webhook-signature"] = sigs[idx],
   }, body)
end

function response(status, headers, resp_body)
   last_answer = now()
   if status == 202 then s202 = s202 + 1
   elseif status == 200 then s200 = s200 + 1
   elseif status >= 400 and status < 500 then s4xx = s4xx + 1
   elseif status >= 500 then s5xx = s5xx + 1
   else sother = sother + 1 end
end

function done(summary, latency, requests)
   local c = { s202 = 0, s200 = 0, s4xx = 0, s5xx = 0, sother = 0, wrapped = 0, sent = 0 }
   local start, stop = math.huge, 0
   for _, thread in ipairs(threads) do
      for k, _ in pairs(c) do c[k] = c[k] + thread:get(k) end
      local first, last = thread:get("first_sent"), thread:get("last_answer")
      if first > 0 and first < start then start = first end
      if last > stop then stop = last end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "sent": %d, "window_s": %.4f, "p50_us": %d, "p90_us": %d, ' ..
      '"p99_us": %d, "max_us": %d, "mean_us": %.1f, "s202": %d, "s200": %d, "s4xx": %d, "s5xx": %d, ' ..
      '"sother": %d, "wrapped": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
      '"timeouts": %d}\n',
      summary.requests, c.sent, stop - start, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean, c.s202, c.s200, c.s4xx, c.s5xx, c.sother,
      c.wrapped, e.connect, e.read, e.write, e.timeout))
end
