"""(iii) of bench/normalize.py: `make serve` serving wsgi:app, and wrk sending varied signed deliveries.

Talks to 127.0.0.1 only; the generated requests live in a temp dir that cleanup_load() removes.
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

from bench.normalize_setup import HEADER_DEDUPED, ROOT, event_mix, signed

GRACE_SECONDS = 3  # wrk's wait for the answers still in flight when the burst ends


LUA = r"""
-- requests.tsv: path, body line number, then header name/value pairs, tab-separated; thread i of T
-- sends lines i, i+T, ...; each thread sends for S seconds, then parks its connections.
local ffi = require("ffi")
ffi.cdef [[ typedef struct { long tv_sec; long tv_nsec; } nb_timespec; int clock_gettime(int, nb_timespec *); ]]
local clock = ffi.new("nb_timespec")
local function now() ffi.C.clock_gettime(1, clock); return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9 end
local threads, next_id = {}, 0
function setup(thread) thread:set("tid", next_id); next_id = next_id + 1; table.insert(threads, thread) end
function init(args)
   bodies = {}
   for line in io.lines(args[2]) do bodies[#bodies + 1] = line end
   local nthreads = tonumber(args[3]); seconds = tonumber(args[4])
   reqs, i = {}, 0
   for line in io.lines(args[1]) do
      if i % nthreads == tid then
         local f = {}
         for part in string.gmatch(line, "[^\t]+") do f[#f + 1] = part end
         local headers = {}
         for j = 3, #f, 2 do headers[f[j]] = f[j + 1] end
         reqs[#reqs + 1] = {f[1], tonumber(f[2]), headers}
      end
      i = i + 1
   end
   idx, wrapped, first_sent, last_answer, deadline = 0, 0, 0, 0, nil
   s202, s200, s4xx, s5xx, sother = 0, 0, 0, 0, 0
end
function delay()
   if deadline ~= nil and now() >= deadline then return 3600000 end
   return 0
end
function request()
   if deadline == nil then first_sent = now(); deadline = first_sent + seconds end
   idx = idx + 1
   if idx > #reqs then idx, wrapped = 1, wrapped + 1 end
   local r = reqs[idx]
   return wrk.format("POST", r[1], r[3], bodies[r[2]])
end
function response(status, headers, body)
   last_answer = now()
   if status == 202 then s202 = s202 + 1 elseif status == 200 then s200 = s200 + 1
   elseif status >= 400 and status < 500 then s4xx = s4xx + 1 elseif status >= 500 then s5xx = s5xx + 1
   else sother = sother + 1 end
end
function done(summary, latency, requests)
   local c = {s202 = 0, s200 = 0, s4xx = 0, s5xx = 0, sother = 0, wrapped = 0}
   local start, stop = math.huge, 0
   for _, t in ipairs(threads) do
      for k, _ in pairs(c) do c[k] = c[k] + t:get(k) end
      local first, last = t:get("first_sent"), t:get("last_answer")
      if first > 0 and first < start then start = first end
      if last > stop then stop = last end
   end
   io.write(string.format('BENCH_JSON {"requests": %d, "window_s": %.4f, "p50_us": %d, "p99_us": %d, ' ..
      '"s202": %d, "s200": %d, "s4xx": %d, "s5xx": %d, "sother": %d, "wrapped": %d}\n',
      summary.requests, stop - start, latency:percentile(50), latency:percentile(99),
      c.s202, c.s200, c.s4xx, c.s5xx, c.sother, c.wrapped))
end
"""


def write_load(bench, count, pool=3000):
    """count uniquely signed deliveries over a pool of varied bodies, in a temp dir wrk reads."""
    tmp = tempfile.mkdtemp(prefix="zarts-bench-normalize-")
    mix = list(event_mix(pool, seed=3, providers=HEADER_DEDUPED))
    bodies = [json.dumps(payload).encode() for _, _, payload in mix]
    with open(os.path.join(tmp, "bodies.txt"), "wb") as out:
        out.write(b"\n".join(bodies) + b"\n")
    tag = secrets.token_hex(3)
    with open(os.path.join(tmp, "requests.tsv"), "w") as out:
        for k in range(count):
            provider, event_type, _ = mix[k % pool]
            headers = signed(bench, provider, event_type, bodies[k % pool], f"msg_{tag}_{k}")
            out.write("\t".join([bench.connections[provider][1], str(k % pool + 1),
                                 *(v for pair in headers.items() for v in pair)]) + "\n")
    with open(os.path.join(tmp, "load.lua"), "w") as out:
        out.write(LUA)
    return tmp


def cleanup_load(tmp):
    shutil.rmtree(tmp, ignore_errors=True)


def wrk(url, load, seconds, connections, threads=2, grace=GRACE_SECONDS):
    """Run wrk with the generated load; its BENCH_JSON line as a dict."""
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds + grace}s", "--timeout",
           f"{grace}s", "--latency", "-s", os.path.join(load, "load.lua"), url, "--",
           os.path.join(load, "requests.tsv"), os.path.join(load, "bodies.txt"), str(threads), str(seconds)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH_JSON "))
    return json.loads(line[len("BENCH_JSON "):])


def start_server(bench):
    """What `make serve` runs (serve.py) on a free loopback port, once it answers /healthz."""
    import serve

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(serve.command({**bench.env, "HOST": "127.0.0.1", "PORT": str(port)}),
                            cwd=ROOT, env=bench.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            time.sleep(1)  # let the second gunicorn worker finish booting too
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    stop_server(proc)
    raise RuntimeError("serve.py did not answer /healthz within 30 s")


def stop_server(proc):
    """SIGTERM (graceful), SIGKILL after 15 s; only the process we started."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
