import type { CommandSpec, OptionSpec } from './command';

/**
 * Every pilotctl command: the reference's set (cli.md §4) plus ours (groups, tag search, broadcast,
 * backbone, console, netcheck). Commands are bound to implementations in `commands/`; one without
 * an implementation is listed and answers `unavailable` ("not built yet").
 */
const timeout: OptionSpec = { type: 'string', description: 'overall timeout (Go duration or seconds)' };
const count: OptionSpec = { type: 'string', description: 'number of items before exiting' };

export const CATALOGUE: CommandSpec[] = [
  // daemon lifecycle
  {
    group: 'daemon', name: 'daemon start', usage: 'daemon start [--hostname H] [--backbone HOST[,HOST2] | --registry H:P[,H2:P] --beacon H:P[,H2:P]] [--tags a,b] [--public] [--foreground]',
    summary: 'start the local node daemon in the background and wait until it is ready',
    options: {
      hostname: { type: 'string', description: 'hostname to claim at the registry' },
      registry: { type: 'string', description: 'registry address host:port (default 127.0.0.1:9000); several, comma-separated, for backbone instances sharing one directory: the node fails over between them in this order' },
      beacon: { type: 'string', description: 'beacon address host:port (default 127.0.0.1:9001); several, comma-separated: each is sent discovers, punches and relay use the first that answers' },
      netcheck: { type: 'string', description: 'netcheck reflector host:port (default: beacon port + 1)' },
      backbone: { type: 'string', description: 'shorthand: registry HOST:9000 and beacon HOST:9001 (several hosts comma-separated: HOST_A,HOST_B)' },
      listen: { type: 'string', description: 'UDP tunnel listen address (default :0)' },
      socket: { type: 'string', description: 'IPC socket path (default /tmp/pilot.sock, or $PILOT_SOCKET)' },
      identity: { type: 'string', description: 'identity file (default ~/.pilot/identity.key)' },
      owner: { type: 'string', description: 'owner string sent at registration' },
      tags: { type: 'string', description: 'capability tags, comma separated (max 3)' },
      public: { type: 'boolean', description: 'make the node public (endpoint visible to everyone)' },
      'no-encrypt': { type: 'boolean', description: 'send plaintext PILT frames only' },
      foreground: { type: 'boolean', description: 'run in this process (for systemd)' },
      'log-level': { type: 'string', description: 'trace|debug|info|warn|error (default info)' },
      config: { type: 'string', description: 'JSON config file' },
      webhook: { type: 'string', description: 'webhook URL for events (or config.json webhook)' },
      'otlp-endpoint': { type: 'string', description: 'push finished spans over OTLP/HTTP to this collector (e.g. Jaeger: http://127.0.0.1:4318)' },
      metrics: { type: 'string', description: 'serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9464; loopback only unless --metrics-public)' },
      'metrics-public': { type: 'boolean', description: 'allow --metrics on a non-loopback address (the metrics name this node\'s peers)' },
    },
  },
  { group: 'daemon', name: 'daemon stop', usage: 'daemon stop', summary: 'stop the local daemon (SIGTERM, then SIGKILL after 10 s)' },
  { group: 'daemon', name: 'daemon status', usage: 'daemon status [--check]', summary: 'is the daemon running and responsive', options: { check: { type: 'boolean', description: 'no output; exit 0 if responsive, else 1' } } },
  // backbone
  {
    group: 'backbone', name: 'backbone start', usage: 'backbone start [--registry :9000] [--beacon :9001] [--data DIR | --etcd URL,URL,...] [--admin-token T]',
    summary: 'run the backbone (registry + beacon) in the foreground',
    options: {
      registry: { type: 'string', description: 'registry TCP listen address (default :9000)' },
      beacon: { type: 'string', description: 'beacon UDP listen address (default :9001)' },
      data: { type: 'string', description: 'data directory for the crash-safe store (default ~/.pilot/backbone)' },
      etcd: { type: 'string', description: 'keep the directory in etcd instead (comma-separated client URLs, e.g. http://10.0.0.1:2379,http://10.0.0.2:2379): several backbones started with the same --etcd serve one directory; --data is then unused' },
      'etcd-prefix': { type: 'string', description: 'etcd key prefix of the directory (default /pilot/backbone/)' },
      netcheck: { type: 'string', description: 'netcheck reflector UDP listen address (default: beacon port + 1)' },
      'admin-token': { type: 'string', description: 'require this token to create groups' },
      'log-level': { type: 'string', description: 'trace|debug|info|warn|error (default info)' },
    },
  },
  { group: 'backbone', name: 'backbone status', usage: 'backbone status [--registry H:P]', summary: 'counts from a running backbone', options: { registry: { type: 'string', description: 'registry address' } } },
  // config
  {
    group: 'config', name: 'init', usage: 'init [--registry H:P] [--beacon H:P] [--hostname H] [--socket P]', summary: 'write ~/.pilot/config.json',
    options: {
      registry: { type: 'string', description: 'registry host:port' },
      beacon: { type: 'string', description: 'beacon host:port' },
      hostname: { type: 'string', description: 'hostname the daemon claims at start' },
      socket: { type: 'string', description: 'IPC socket path' },
    },
  },
  { group: 'config', name: 'config', usage: 'config [--set key=value]', summary: 'show or set CLI configuration', options: { set: { type: 'string', description: 'key=value to store in config.json' } } },
  { group: 'config', name: 'context', usage: 'context', summary: 'machine-readable catalogue of commands, flags and error codes' },
  // discovery
  { group: 'discovery', name: 'info', usage: 'info', summary: 'this node: address, hostname, peers, connections, encryption, traffic' },
  { group: 'discovery', name: 'find', usage: 'find <hostname> | find --tag T [--tag T2] [--group G]', summary: 'resolve a hostname, or search nodes by capability tag and group', options: { tag: { type: 'string', description: 'capability tag (comma separated: all must match)' }, group: { type: 'string', description: 'restrict to members of a group' } } },
  { group: 'discovery', name: 'lookup', usage: 'lookup <node_id>', summary: 'registry record of a node' },
  { group: 'discovery', name: 'set-hostname', usage: 'set-hostname <hostname>', summary: 'claim a hostname at the registry' },
  { group: 'discovery', name: 'clear-hostname', usage: 'clear-hostname', summary: 'release this node\'s hostname' },
  { group: 'discovery', name: 'set-public', usage: 'set-public', summary: 'make this node\'s endpoint visible to everyone' },
  { group: 'discovery', name: 'set-private', usage: 'set-private', summary: 'hide this node\'s endpoint (trusted peers and group members only)' },
  { group: 'discovery', name: 'set-tags', usage: 'set-tags <t1> [t2] [t3]', summary: 'set capability tags (max 3)' },
  { group: 'discovery', name: 'clear-tags', usage: 'clear-tags', summary: 'remove all tags' },
  { group: 'discovery', name: 'deregister', usage: 'deregister', summary: 'remove this node from the registry (a running daemon registers again at its next heartbeat)', returns: '{type:"deregister_ok"}' },
  { group: 'discovery', name: 'enable-tasks', usage: 'enable-tasks', summary: 'advertise at the registry that this node executes tasks (task_exec)', returns: '{node_id, task_exec, type}' },
  { group: 'discovery', name: 'disable-tasks', usage: 'disable-tasks', summary: 'stop advertising task execution at the registry', returns: '{node_id, task_exec, type}' },
  {
    group: 'discovery', name: 'set-webhook', usage: 'set-webhook <url>',
    summary: 'POST this node\'s events as JSON to an http(s) URL (saved in config.json; applied to a running daemon)', returns: '{webhook, applied}',
  },
  { group: 'discovery', name: 'clear-webhook', usage: 'clear-webhook', summary: 'stop posting events to the webhook (removed from config.json and the running daemon)', returns: '{webhook:"", applied}' },
  { group: 'discovery', name: 'peers', usage: 'peers [--search q]', summary: 'peers this node has tunnels with: path, RTT, encryption', options: { search: { type: 'string', description: 'filter by node id, hostname, endpoint or tag' } } },
  // communication
  { group: 'communication', name: 'ping', usage: 'ping <address|hostname> [--count 4] [--timeout 30s]', summary: 'echo round trips over the tunnel, with the path (direct/punched/relay); through a daemon with only the reference IPC, a stream to the echo port per probe', options: { count, timeout } },
  {
    group: 'diagnostics', name: 'trace', usage: 'trace <trace-id> [--peer X,Y] [--timeout 10s]',
    summary: "a trace's spans gathered from every node that took part, drawn as a waterfall in lanes per node (clock offsets applied)",
    returns: 'trace_id, nodes [{address, hostname, offset_ms, rtt_ms, spans, error}], spans [{lane, start_ms (on this clock), name, ...}]',
    options: {
      timeout: { type: 'string', description: 'per-node timeout (Go duration or seconds, default 5s)' },
      peer: { type: 'string', description: "also ask these nodes (ids, addresses or hostnames, comma separated): for a trace this node took no part in" },
    },
  },
  {
    group: 'diagnostics', name: 'trace export', usage: 'trace export <trace-id> [--otlp] [--out FILE] [--local]',
    summary: 'write a collected trace as OTLP/JSON (resourceSpans per node; load it into Jaeger, Tempo or an OTel Collector)',
    options: {
      peer: { type: 'string', description: 'also ask these nodes (comma separated)' },
      otlp: { type: 'boolean', description: 'OTLP/JSON (the default and only format; accepted for clarity)' },
      out: { type: 'string', description: 'write to FILE instead of stdout' },
      local: { type: 'boolean', description: "only this node's spans (do not ask the peers)" },
    },
  },
  {
    group: 'diagnostics', name: 'logs', usage: 'logs [--follow] [--peer X] [--trace ID] [--level L] [--component C] [--limit N]',
    summary: "the daemon's structured log lines (JSON lines with --json); --follow keeps printing new ones",
    options: {
      follow: { type: 'boolean', short: 'f', description: 'keep printing new lines until interrupted' },
      peer: { type: 'string', description: 'only lines about this peer (node id or address)' },
      trace: { type: 'string', description: 'only lines of this trace id' },
      level: { type: 'string', description: 'minimum level: trace|debug|info|warn|error' },
      component: { type: 'string', description: 'only lines of this component (e.g. services, tunnels)' },
      limit: { type: 'string', description: 'how many recent lines (default 200)' },
    },
  },
  { group: 'communication', name: 'traceroute', usage: 'traceroute <address> [--timeout 30s]', summary: 'connection setup time and data RTT', options: { timeout } },
  { group: 'communication', name: 'bench', usage: 'bench <address|hostname> [size_mb=1] [--timeout 120s]', summary: 'throughput through the echo port', options: { timeout } },
  { group: 'communication', name: 'connect', usage: 'connect <address|hostname> [port=1000] [--message M] [--timeout 30s]', summary: 'send one message on a stream and print the reply', options: { message: { type: 'string', description: 'message to send' }, timeout } },
  { group: 'communication', name: 'send', usage: 'send <address|hostname> <port> --data D [--timeout 30s]', summary: 'send data on a stream and print the reply', options: { data: { type: 'string', description: 'data to send' }, timeout } },
  { group: 'communication', name: 'recv', usage: 'recv <port> [--count 1] [--timeout 30s]', summary: 'accept connections on a port and print what arrives', options: { count, timeout } },
  { group: 'communication', name: 'listen', usage: 'listen <port> [--count N] [--timeout D]', summary: 'print datagrams arriving on a port', options: { count, timeout } },
  { group: 'communication', name: 'send-file', usage: 'send-file <address|hostname> <path>', summary: 'send a file through data exchange (port 1001)' },
  { group: 'communication', name: 'send-message', usage: 'send-message <address|hostname> --data D [--type text|json|binary]', summary: 'send a message through data exchange (port 1001)', options: { data: { type: 'string', description: 'message' }, type: { type: 'string', description: 'text|json|binary' } } },
  { group: 'communication', name: 'subscribe', usage: 'subscribe <address|hostname> <topic> [--count N] [--timeout D]', summary: 'subscribe to an event stream topic (port 1002; * for all)', options: { count, timeout } },
  { group: 'communication', name: 'publish', usage: 'publish <address|hostname> <topic> --data D', summary: 'publish one event (port 1002)', options: { data: { type: 'string', description: 'payload' } } },
  { group: 'communication', name: 'received', usage: 'received [--clear]', summary: 'files received through data exchange', options: { clear: { type: 'boolean', description: 'delete them' } } },
  { group: 'communication', name: 'inbox', usage: 'inbox [--clear]', summary: 'messages received through data exchange', options: { clear: { type: 'boolean', description: 'delete them' } } },
  // gateway (needs root for start/stop: it adds and removes loopback addresses)
  {
    group: 'communication', name: 'gateway start', usage: 'gateway start [--subnet 10.4.0.0/16] [--ports 80,443,1000,1001,1002,7,8080,8443] [address|hostname...]',
    summary: 'map local IPs to pilot addresses and proxy TCP ports to pilot streams (foreground, needs root)',
    returns: '{pid, subnet, mappings:[{local_ip, pilot_addr}]}',
    options: {
      subnet: { type: 'string', description: 'IPv4 subnet the local IPs come from (default 10.4.0.0/16)' },
      ports: { type: 'string', description: 'TCP ports to proxy, comma separated (default 80,443,1000,1001,1002,7,8080,8443)' },
      socket: { type: 'string', description: 'daemon IPC socket path' },
    },
  },
  { group: 'communication', name: 'gateway stop', usage: 'gateway stop', summary: 'stop the running gateway and remove its local IPs (also a crashed one\'s)', returns: '{pid}' },
  { group: 'communication', name: 'gateway map', usage: 'gateway map <address|hostname> [local_ip]', summary: 'map a pilot address to a local IP on the running gateway', returns: '{local_ip, pilot_addr}', options: { socket: { type: 'string', description: 'daemon IPC socket path' } } },
  { group: 'communication', name: 'gateway unmap', usage: 'gateway unmap <local_ip>', summary: 'remove a mapping from the running gateway', returns: '{unmapped}' },
  { group: 'communication', name: 'gateway list', usage: 'gateway list', summary: 'the running gateway\'s mappings', returns: '{mappings:[{local_ip, pilot_addr}], total}' },
  // groups (ours)
  { group: 'groups', name: 'group create', usage: 'group create <name> [--rule open|token|invite] [--token T]', summary: 'create a group and join it', options: { rule: { type: 'string', description: 'join rule (default open)' }, token: { type: 'string', description: 'token for rule=token' } } },
  { group: 'groups', name: 'group join', usage: 'group join <name> [--token T] [--inviter N]', summary: 'join a group', options: { token: { type: 'string', description: 'join token' }, inviter: { type: 'string', description: 'inviting member (rule=invite)' } } },
  { group: 'groups', name: 'group leave', usage: 'group leave <name>', summary: 'leave a group' },
  { group: 'groups', name: 'group list', usage: 'group list', summary: 'groups with live member counts' },
  { group: 'groups', name: 'group members', usage: 'group members <name>', summary: 'members of a group' },
  { group: 'groups', name: 'broadcast', usage: 'broadcast <group> <message> [--port P]', summary: 'send a datagram to every member of a group', options: { port: { type: 'string', description: 'destination port (default 1000)' } } },
  // tasks
  { group: 'tasks', name: 'task submit', usage: 'task submit <address|hostname> --task "description" [--tag T]', summary: 'submit a task to a peer (port 1003)', options: { task: { type: 'string', description: 'task description' }, tag: { type: 'string', description: 'send to the best member with this tag instead of a named peer' } } },
  { group: 'tasks', name: 'task accept', usage: 'task accept --id ID', summary: 'accept a received task', options: { id: { type: 'string', description: 'task id' } } },
  { group: 'tasks', name: 'task decline', usage: 'task decline --id ID --justification J', summary: 'decline a received task', options: { id: { type: 'string', description: 'task id' }, justification: { type: 'string', description: 'why' } } },
  { group: 'tasks', name: 'task execute', usage: 'task execute', summary: 'take the first accepted task' },
  { group: 'tasks', name: 'task send-results', usage: 'task send-results --id ID (--results TEXT | --file PATH)', summary: 'send results back to the submitter', options: { id: { type: 'string', description: 'task id' }, results: { type: 'string', description: 'result text' }, file: { type: 'string', description: 'result file' } } },
  { group: 'tasks', name: 'task list', usage: 'task list [--type received|submitted]', summary: 'tasks on this node', options: { type: { type: 'string', description: 'received|submitted' } } },
  { group: 'tasks', name: 'task queue', usage: 'task queue', summary: 'accepted tasks waiting to run' },
  // trust
  { group: 'trust', name: 'handshake', usage: 'handshake <node_id|address|hostname> [justification]', summary: 'ask a peer for trust' },
  { group: 'trust', name: 'approve', usage: 'approve <node_id>', summary: 'approve a pending trust request' },
  { group: 'trust', name: 'reject', usage: 'reject <node_id> [reason]', summary: 'reject a pending trust request' },
  { group: 'trust', name: 'untrust', usage: 'untrust <node_id>', summary: 'revoke trust' },
  { group: 'trust', name: 'pending', usage: 'pending', summary: 'trust requests waiting for approval' },
  { group: 'trust', name: 'trust', usage: 'trust', summary: 'trusted peers' },
  // diagnostics
  { group: 'diagnostics', name: 'connections', usage: 'connections', summary: 'open streams with congestion and retransmission counters' },
  { group: 'diagnostics', name: 'disconnect', usage: 'disconnect <conn_id>', summary: 'close a stream' },
  { group: 'diagnostics', name: 'netcheck', usage: 'netcheck', summary: 'what the beacon sees of this node\'s NAT (endpoint, port mapping behaviour)' },
  {
    group: 'diagnostics', name: 'metrics', usage: 'metrics [--peers N]',
    summary: 'this node\'s metrics in the Prometheus text format (--json: the same figures as JSON); per-peer series for the N most recently active peers',
    returns: '{address, peers, peers_exported, endpoint?, metrics:[{name, help, type, values:[{labels, value}]}]}',
    options: { peers: { type: 'string', description: 'per-peer series for at most this many peers (default 100; an answer must fit one 1 MiB IPC frame)' } },
  },
  // console
  {
    group: 'console', name: 'console', usage: 'console [--port N] [--no-demo] [--registry H:P --beacon H:P]',
    summary: 'serve the fleet console on 127.0.0.1 (web mode); attaches to a running daemon, else runs a node (and, with no backbone configured, an embedded one with a demo fleet)',
    options: {
      port: { type: 'string', description: 'HTTP port (default 7400; another free port if taken)' },
      'no-demo': { type: 'boolean', description: 'do not start the demo fleet' },
      registry: { type: 'string', description: 'a real backbone: registry host:port' },
      beacon: { type: 'string', description: 'a real backbone: beacon host:port' },
    },
  },
];

/** Hidden: the background daemon process that `daemon start` re-executes (same flags). */
export const DAEMON_RUN: CommandSpec = { ...CATALOGUE.find((c) => c.name === 'daemon start')!, name: '_daemon-run', usage: '_daemon-run [daemon start flags]', summary: 'run the daemon in this process (used by daemon start)', hidden: true };

export function findCommand(words: string[]): { spec: CommandSpec; consumed: number } | undefined {
  if (words.length >= 2) {
    const two = CATALOGUE.find((c) => c.name === `${words[0]} ${words[1]}`);
    if (two) return { spec: two, consumed: 2 };
  }
  if (words[0] === DAEMON_RUN.name) return { spec: DAEMON_RUN, consumed: 1 };
  const one = words[0] === undefined ? undefined : CATALOGUE.find((c) => c.name === words[0]);
  return one ? { spec: one, consumed: 1 } : undefined;
}
