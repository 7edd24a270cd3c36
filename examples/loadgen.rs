//! Load generator: bots that play through the real protocol against a running server, and the
//! same load against a bare relay for comparison.
//!
//! ```sh
//! cargo build --release --bin game --example loadgen
//! ulimit -n 16384; ./target/release/game --server --headless --bind 127.0.0.1:4500 &
//! ulimit -n 16384; ./target/release/examples/loadgen --addr 127.0.0.1:4500 --server-pid $! \
//!     --ramp 120,600,1200,2400 --secs 20 --relay --json load.json
//! ```
//!
//! Each room gets one drawer sending a batch of 2 points every 33 ms and players chatting
//! every 5 s. It reports the relay latency from the drawer's send to each viewer's receive,
//! messages and bytes per second, anything lost or out of order, refused connections, and the
//! server's CPU and peak memory (given its pid), and the server's CPU time per stroke batch
//! delivered. Bots take source addresses 127.0.0.2 to 127.0.0.254 in turn, so per-address
//! limits at their defaults still let the load in. `--websocket 50` connects half the bots as
//! a browser does (a WebSocket on the same port, one frame per binary message), spread over
//! the rooms and their drawers.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

use catchmind::app::headless_client_app;
use catchmind::codec;
use catchmind::id::ClientId;
use catchmind::plugins::canvas::{BoardPoint, Brush, CanvasToClient, CanvasToServer};
use catchmind::plugins::chat::{ChatToClient, ChatToServer};
use catchmind::plugins::net::wire::{ClientControl, FIRST_TAG, ServerControl};
use catchmind::plugins::net::{PROTOCOL_VERSION, WireMessage, WireRegistry, frame_codec};
use catchmind::plugins::rooms::{JoinRequest, Welcome};

/// How often a drawer sends a batch of points (about a display's frame every other frame).
const DRAW_EVERY: Duration = Duration::from_millis(33);
/// How the bots' chat lines begin (what counts as one received).
const BOT_LINE: &str = "hi ";

/// Stroke batches the viewers of every room have received so far (a drawer's own echo is not
/// a delivery): read at both ends of a counted window.
static DELIVERED: AtomicU64 = AtomicU64::new(0);

#[derive(Parser, Debug)]
#[command(about = "Loads a Catch Mind server through its real protocol and measures it")]
struct Args {
    /// The server to load.
    #[arg(long, default_value = "127.0.0.1:1234")]
    addr: SocketAddr,
    /// Clients in each step, one step after the other.
    #[arg(long, value_delimiter = ',', default_value = "120")]
    ramp: Vec<usize>,
    /// Players per room (one of them draws).
    #[arg(long, default_value_t = 12)]
    room_size: usize,
    /// Seconds of load in each step.
    #[arg(long, default_value_t = 20)]
    secs: u64,
    /// The server's process id, for its CPU time and peak memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Also run every step against a bare relay (started by this tool as a child process).
    #[arg(long)]
    relay: bool,
    /// The share of bots, in percent, that connect over WebSocket as a browser does.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    websocket: u8,
    /// Write the results as JSON to this file too.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The server at `--addr` runs under `valgrind --tool=callgrind --instr-atstart=no` with
    /// pid `--server-pid`: count its instructions only while the load runs (`scripts/count`).
    #[arg(long, requires = "server_pid")]
    callgrind: bool,
    /// The server at `--addr` is the bare relay (`--serve-relay`), not the game.
    #[arg(long, hide = true)]
    bare_relay: bool,
    /// Serve as the bare relay on this address (what `--relay` starts).
    #[arg(long, hide = true)]
    serve_relay: Option<SocketAddr>,
    /// The wire tags the relay uses (`--print-proto` prints this build's), so the relay needs
    /// no Bevy app to find them.
    #[arg(long, hide = true)]
    proto: Option<String>,
    /// Prints this build's wire tags for `--proto` and exits.
    #[arg(long, hide = true)]
    print_proto: bool,
}

/// Tags of the types the bots use, from this build's registry.
#[derive(Clone, Copy, Debug)]
struct Proto {
    fingerprint: u64,
    join: u32,
    welcome: u32,
    canvas_up: u32,
    canvas_down: u32,
    chat_up: u32,
    chat_down: u32,
}

impl Proto {
    fn of_this_build() -> Self {
        let app = headless_client_app();
        let registry = app.world().resource::<WireRegistry>();
        let tag = |found: Option<u32>| found.expect("registered");
        Self {
            fingerprint: registry.fingerprint(),
            join: tag(registry.tag_of::<JoinRequest>()),
            welcome: tag(registry.tag_of::<Welcome>()),
            canvas_up: tag(registry.tag_of::<CanvasToServer>()),
            canvas_down: tag(registry.tag_of::<CanvasToClient>()),
            chat_up: tag(registry.tag_of::<ChatToServer>()),
            chat_down: tag(registry.tag_of::<ChatToClient>()),
        }
    }

    fn to_arg(self) -> String {
        format!(
            "{},{},{},{},{},{},{}",
            self.fingerprint,
            self.join,
            self.welcome,
            self.canvas_up,
            self.canvas_down,
            self.chat_up,
            self.chat_down
        )
    }

    fn from_arg(arg: &str) -> Option<Self> {
        let n: Vec<u64> = arg.split(',').map(|v| v.parse().ok()).collect::<Option<_>>()?;
        let tag = |i: usize| n.get(i).and_then(|&v| u32::try_from(v).ok());
        Some(Self {
            fingerprint: *n.first()?,
            join: tag(1)?,
            welcome: tag(2)?,
            canvas_up: tag(3)?,
            canvas_down: tag(4)?,
            chat_up: tag(5)?,
            chat_down: tag(6)?,
        })
    }
}

fn tagged<T: WireMessage>(tag: u32, msg: &T) -> Bytes {
    Bytes::from(codec::encode(&(tag, msg)).expect("fits a frame"))
}

fn control<T: serde::Serialize>(msg: &T) -> Bytes {
    Bytes::from(codec::encode(msg).expect("fits a frame"))
}

/// What one room's bots share: when each of the drawer's batches left, and the chat said.
#[derive(Default)]
struct RoomLog {
    sends: Mutex<Vec<Instant>>,
    said: AtomicU64,
}

/// What one bot saw.
#[derive(Default)]
struct BotReport {
    latencies_us: Vec<u32>,
    batches: u64,
    chat: u64,
    messages: u64,
    bytes: u64,
    out_of_order: u64,
    refused: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Joining,
    Running,
    Draining,
    Done,
}

/// The points of batch `seq`: a step right then back, the step's length telling the batch apart.
fn batch(seq: u64) -> CanvasToServer {
    let step = (seq % 100 + 1) as i16;
    CanvasToServer::Points(vec![[step, 0], [-step, 0]])
}

fn seq_mark(deltas: &[[i16; 2]]) -> Option<i16> {
    deltas.first().map(|d| d[0])
}

async fn connect(index: usize, target: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if target.ip().is_loopback() {
        let source = Ipv4Addr::new(127, 0, 0, 2 + (index % 253) as u8);
        socket.bind(SocketAddr::from((source, 0)))?;
    }
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Whether bot `index` of room `room` connects over WebSocket, `percent` of them doing so:
/// spread evenly, shifted by the room so that drawers are among them too.
fn over_websocket(index: usize, room: usize, percent: u8) -> bool {
    let at = index + room;
    let share = |n: usize| n * percent as usize / 100;
    share(at + 1) > share(at)
}

/// The frames a bot receives, over either transport.
enum Frames {
    Tcp(FramedRead<tokio::net::tcp::OwnedReadHalf, LengthDelimitedCodec>),
    WebSocket(futures_util::stream::SplitStream<WebSocketStream<TcpStream>>),
}

impl Frames {
    /// The next frame with its size on the wire (its length prefix or message header counted),
    /// `None` once the connection ends.
    async fn next(&mut self) -> Option<(Bytes, usize)> {
        match self {
            Self::Tcp(reader) => {
                let frame = reader.next().await?.ok()?.freeze();
                let len = frame.len() + 4;
                Some((frame, len))
            }
            Self::WebSocket(reader) => loop {
                match reader.next().await?.ok()? {
                    Message::Binary(frame) => {
                        let header = if frame.len() < 126 { 2 } else { 4 };
                        let len = frame.len() + header;
                        return Some((frame, len));
                    }
                    Message::Close(_) => return None,
                    _ => continue,
                }
            },
        }
    }
}

/// A bot's connection once it is in its room.
struct Joined {
    reader: Frames,
    tx: mpsc::UnboundedSender<Bytes>,
    writer: tokio::task::JoinHandle<()>,
    me: ClientId,
}

/// Opens the connection, raw TCP or a WebSocket upgrade on the same port: its frames, and a
/// writer task sending what `tx` gets.
async fn open(
    index: usize,
    target: SocketAddr,
    websocket: bool,
) -> Option<(Frames, mpsc::UnboundedSender<Bytes>, tokio::task::JoinHandle<()>)> {
    let stream = connect(index, target).await.ok()?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    if websocket {
        let (socket, _) = tokio_tungstenite::client_async(format!("ws://{target}/ws"), stream)
            .await
            .ok()?;
        let (mut sink, reader) = socket.split();
        let writer = tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if sink.send(Message::Binary(frame)).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        return Some((Frames::WebSocket(reader), tx, writer));
    }
    let (read, write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let mut sink = FramedWrite::new(write, frame_codec());
        while let Some(frame) = rx.recv().await {
            if sink.send(frame).await.is_err() {
                break;
            }
        }
    });
    Some((Frames::Tcp(FramedRead::new(read, frame_codec())), tx, writer))
}

/// Connects, shakes hands and joins room `load{room}`; `None` if refused or cut off.
async fn join(
    index: usize,
    room: usize,
    target: SocketAddr,
    proto: Proto,
    websocket: bool,
) -> Option<Joined> {
    let (mut reader, tx, writer) = open(index, target, websocket).await?;
    let hello = ClientControl::Hello {
        version: PROTOCOL_VERSION,
        fingerprint: proto.fingerprint,
    };
    let _ = tx.send(control(&hello));
    let join = JoinRequest {
        name: format!("bot{index}"),
        room: Some(format!("load{room}")),
        host_token: None,
        resume: None,
        spectate: false,
    };
    let _ = tx.send(tagged(proto.join, &join));
    // Until the welcome, a refusal or the end.
    loop {
        let (frame, _) = reader.next().await?;
        let Ok((tag, used)) = codec::decode_prefix::<u32>(&frame) else {
            continue;
        };
        if tag == proto.welcome {
            if let Ok(welcome) = codec::decode::<Welcome>(&frame[used..]) {
                return Some(Joined {
                    reader,
                    tx,
                    writer,
                    me: welcome.you,
                });
            }
        } else if tag < FIRST_TAG && matches!(codec::decode(&frame), Ok(ServerControl::Closing(_))) {
            return None;
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn bot(
    index: usize,
    room: usize,
    drawer: bool,
    relay: bool,
    websocket: bool,
    target: SocketAddr,
    proto: Proto,
    log: Arc<RoomLog>,
    joined: Arc<AtomicUsize>,
    mut phase: watch::Receiver<Phase>,
) -> BotReport {
    let mut report = BotReport::default();
    let Some(Joined {
        mut reader,
        tx,
        writer,
        me,
    }) = join(index, room, target, proto, websocket).await
    else {
        report.refused = true;
        joined.fetch_add(1, Ordering::SeqCst);
        return report;
    };
    joined.fetch_add(1, Ordering::SeqCst);
    let _ = phase.wait_for(|p| *p != Phase::Joining).await;
    let started = Instant::now();
    let mut seq: u64 = 0;
    let mut stroke_points = 0;
    let mut pen = relay;
    // Drawers in different rooms do not draw in step: each room's starts at its own point of
    // the 33 ms period (spread evenly by the golden ratio, the same for every run and
    // transport). In step, how closely the bots' runtime kept them together decided how many
    // updates the server ran for the same strokes.
    let offset = Duration::from_micros(((room as f64 * 0.618_034).fract() * 33_000.0) as u64);
    let mut draw = tokio::time::interval_at(tokio::time::Instant::now() + offset, DRAW_EVERY);
    let mut chat = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_millis(37 * (index as u64 % 135)),
        Duration::from_secs(5),
    );
    let mut ping = tokio::time::interval(Duration::from_secs(4));
    if drawer {
        let _ = tx.send(tagged(proto.canvas_up, &CanvasToServer::TakePen));
    }
    loop {
        tokio::select! {
            frame = reader.next() => {
                let Some((frame, len)) = frame else { break };
                report.messages += 1;
                report.bytes += len as u64;
                let before = report.batches;
                receive(&frame, proto, me, &log, &mut report, &mut pen);
                if !drawer && report.batches > before {
                    DELIVERED.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ = draw.tick(), if drawer && pen && *phase.borrow() == Phase::Running => {
                if stroke_points == 0 {
                    let start = CanvasToServer::Start {
                        brush: Brush { colour: [20, 20, 20], size: 6, eraser: false },
                        at: BoardPoint::new(800, 450),
                    };
                    let _ = tx.send(tagged(proto.canvas_up, &start));
                    stroke_points = 1;
                }
                log.sends.lock().unwrap().push(Instant::now());
                let _ = tx.send(tagged(proto.canvas_up, &batch(seq)));
                seq += 1;
                stroke_points += 2;
                if stroke_points > 1000 {
                    let _ = tx.send(tagged(proto.canvas_up, &CanvasToServer::End));
                    stroke_points = 0;
                }
            }
            _ = chat.tick(), if !drawer && *phase.borrow() == Phase::Running => {
                log.said.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send(tagged(proto.chat_up, &ChatToServer::Say(format!("{BOT_LINE}{index} {:?}", started.elapsed()))));
            }
            _ = ping.tick() => {
                let _ = tx.send(control(&ClientControl::Ping));
            }
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow() == Phase::Done {
                    break;
                }
            }
        }
    }
    let _ = tx.send(control(&ClientControl::Leave));
    drop(tx);
    let _ = tokio::time::timeout(Duration::from_secs(1), writer).await;
    report
}

/// One frame from the server (or the relay): a batch of the room's drawer, a chat line, the pen.
fn receive(frame: &[u8], proto: Proto, me: ClientId, log: &RoomLog, report: &mut BotReport, pen: &mut bool) {
    let Ok((tag, used)) = codec::decode_prefix::<u32>(frame) else {
        return;
    };
    let body = &frame[used..];
    let deltas = if tag == proto.canvas_down {
        match codec::decode::<CanvasToClient>(body) {
            Ok(CanvasToClient::Points { deltas, .. }) => Some(deltas),
            Ok(CanvasToClient::Pen(Some(holder))) if holder == me => {
                *pen = true;
                None
            }
            _ => None,
        }
    } else if tag == proto.canvas_up {
        match codec::decode::<CanvasToServer>(body) {
            Ok(CanvasToServer::Points(deltas)) => Some(deltas),
            _ => None,
        }
    } else {
        // Only the bots' own lines count: not the room's notices, refusals or history.
        let text = if tag == proto.chat_down {
            match codec::decode::<ChatToClient>(body) {
                Ok(ChatToClient::Line(line)) => Some(line.text),
                _ => None,
            }
        } else if tag == proto.chat_up {
            codec::decode::<ChatToServer>(body)
                .ok()
                .map(|ChatToServer::Say(text)| text)
        } else {
            None
        };
        if text.is_some_and(|t| t.starts_with(BOT_LINE)) {
            report.chat += 1;
        }
        None
    };
    let Some(deltas) = deltas else { return };
    let now = Instant::now();
    let k = report.batches as usize;
    report.batches += 1;
    if seq_mark(&deltas) != Some((k % 100 + 1) as i16) {
        report.out_of_order += 1;
    }
    if let Some(&sent) = log.sends.lock().unwrap().get(k) {
        let us = now
            .saturating_duration_since(sent)
            .as_micros()
            .min(u32::MAX as u128) as u32;
        report.latencies_us.push(us);
    }
}

/// A process's CPU ticks (user + system), peak and current resident memory, and anonymous
/// resident memory (heap and stacks, without the program's own pages), in KiB.
type ProcessSample = (u64, u64, u64, u64);

fn process_sample(pid: u32) -> Option<ProcessSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((ticks, kib("VmHWM:")?, kib("VmRSS:")?, kib("RssAnon:")?))
}

/// This process's CPU ticks (the bots').
fn own_ticks() -> Option<u64> {
    process_sample(std::process::id()).map(|(ticks, ..)| ticks)
}

/// Busy CPU ticks of the whole machine, every core.
fn machine_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait.
    let total: u64 = fields.iter().take(8).sum();
    Some(total - fields.get(3)? - fields.get(4)?)
}

/// Context switches of every thread of a process, voluntary or not.
fn context_switches(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(status) = std::fs::read_to_string(task.ok()?.path().join("status")) else {
            continue;
        };
        for line in status.lines() {
            if line.starts_with("voluntary_ctxt_switches") || line.starts_with("nonvoluntary_ctxt_switches") {
                total += line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    Some(total)
}

/// What is read at each end of a step's window.
#[derive(Clone, Copy)]
struct Sample {
    server: Option<ProcessSample>,
    switches: Option<u64>,
    bots: Option<u64>,
    machine: Option<u64>,
    delivered: u64,
}

impl Sample {
    fn take(pid: Option<u32>) -> Self {
        Self {
            server: pid.and_then(process_sample),
            switches: pid.and_then(context_switches),
            bots: own_ticks(),
            machine: machine_ticks(),
            delivered: DELIVERED.load(Ordering::SeqCst),
        }
    }
}

/// Switches callgrind's counting in the server on or off (`callgrind_control -i`).
async fn callgrind_instrument(pid: u32, on: bool) {
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("callgrind_control")
            .args(["-i", if on { "on" } else { "off" }, &pid.to_string()])
            .stdout(std::process::Stdio::null())
            .status()
    })
    .await;
    if !matches!(status, Ok(Ok(s)) if s.success()) {
        eprintln!(
            "loadgen: `callgrind_control -i` failed: is the server running under valgrind --tool=callgrind?"
        );
        std::process::exit(2);
    }
}

/// One step's figures.
#[derive(Debug, Default, Clone)]
struct StepResult {
    target: &'static str,
    clients: usize,
    /// How many of the clients came over WebSocket.
    websockets: usize,
    rooms: usize,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    max_ms: f64,
    messages_per_s: f64,
    kbytes_per_s: f64,
    batches_sent: u64,
    lost_batches: u64,
    lost_chat: u64,
    /// Chat lines received more often than they were said (none if the count is right).
    extra_chat: u64,
    out_of_order: u64,
    refused: usize,
    cpu_percent: Option<f64>,
    /// The server's CPU time per stroke batch a viewer received, in microseconds.
    cpu_us_per_batch: Option<f64>,
    peak_mib: Option<f64>,
    rss_mib: Option<f64>,
    /// The server's anonymous memory (heap and stacks) above its own before the step's bots
    /// came, per client.
    kib_per_client: Option<f64>,
    /// The load tool's own CPU, and everything else's on the machine, in % of a core: a
    /// noisy run shows here.
    bots_cpu_percent: Option<f64>,
    others_cpu_percent: Option<f64>,
    /// The server's context switches (all its threads) per stroke batch a viewer received.
    switches_per_batch: Option<f64>,
    /// Stroke batches viewers received while the window was open.
    delivered: u64,
}

async fn run_step(
    target: SocketAddr,
    clients: usize,
    args: &Args,
    proto: Proto,
    relay: bool,
    pid: Option<u32>,
) -> StepResult {
    let idle_anon = pid.and_then(process_sample).map(|(.., anon)| anon);
    let rooms = clients.div_ceil(args.room_size);
    let logs: Vec<Arc<RoomLog>> = (0..rooms).map(|_| Arc::new(RoomLog::default())).collect();
    let joined = Arc::new(AtomicUsize::new(0));
    let (phase_tx, phase_rx) = watch::channel(Phase::Joining);
    let mut bots = Vec::with_capacity(clients);
    // The bare relay speaks raw TCP only.
    let percent = if relay { 0 } else { args.websocket };
    for i in 0..clients {
        let room = i / args.room_size;
        let drawer = i % args.room_size == 0;
        bots.push(tokio::spawn(bot(
            i,
            room,
            drawer,
            relay,
            over_websocket(i, room, percent),
            target,
            proto,
            logs[room].clone(),
            joined.clone(),
            phase_rx.clone(),
        )));
        if i % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while joined.load(Ordering::SeqCst) < clients && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let what = if relay { "relay" } else { "game" };
    let counted = args.callgrind && pid == args.server_pid;
    if counted && let Some(pid) = pid {
        callgrind_instrument(pid, true).await;
    }
    let before = Sample::take(pid);
    let started = Instant::now();
    phase_tx.send_replace(Phase::Running);
    while started.elapsed() < Duration::from_secs(args.secs) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        eprint!(
            "\r{what} {clients} clients: {} of {} s",
            started.elapsed().as_secs(),
            args.secs
        );
    }
    let ran = started.elapsed();
    let after = Sample::take(pid);
    if counted && let Some(pid) = pid {
        callgrind_instrument(pid, false).await;
    }
    phase_tx.send_replace(Phase::Draining);
    tokio::time::sleep(Duration::from_secs(2)).await;
    phase_tx.send_replace(Phase::Done);
    eprintln!();
    let mut reports = Vec::with_capacity(clients);
    for bot in bots {
        reports.push(bot.await.unwrap_or_default());
    }
    let websockets = (0..clients)
        .filter(|&i| over_websocket(i, i / args.room_size, percent))
        .count();
    summarise(
        what,
        clients,
        websockets,
        rooms,
        &logs,
        &reports,
        args.room_size,
        ran,
        (before, after),
        idle_anon,
    )
}

#[allow(clippy::too_many_arguments)]
fn summarise(
    target: &'static str,
    clients: usize,
    websockets: usize,
    rooms: usize,
    logs: &[Arc<RoomLog>],
    reports: &[BotReport],
    room_size: usize,
    ran: Duration,
    (before, after): (Sample, Sample),
    idle_anon: Option<u64>,
) -> StepResult {
    let process = before.server.zip(after.server);
    let mut latencies: Vec<u32> = reports
        .iter()
        .flat_map(|r| r.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    let pick = |q: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i] as f64 / 1000.0
    };
    let mut lost_batches = 0;
    let mut lost_chat = 0;
    let mut extra_chat = 0;
    for (room, log) in logs.iter().enumerate() {
        let sent = log.sends.lock().unwrap().len() as u64;
        let said = log.said.load(Ordering::SeqCst);
        for (i, report) in reports.iter().enumerate().filter(|(i, _)| i / room_size == room) {
            if report.refused {
                continue;
            }
            if i % room_size != 0 {
                lost_batches += sent.saturating_sub(report.batches);
            }
            lost_chat += said.saturating_sub(report.chat);
            extra_chat += report.chat.saturating_sub(said);
        }
    }
    let secs = ran.as_secs_f64();
    let tck = 100.0; // USER_HZ on Linux
    let cpu_secs = process.map(|(b, a)| (a.0 - b.0) as f64 / tck);
    let ticks = |b: Option<u64>, a: Option<u64>| b.zip(a).map(|(b, a)| a.saturating_sub(b));
    let bots = ticks(before.bots, after.bots);
    let machine = ticks(before.machine, after.machine);
    let server = process.map(|(b, a)| a.0.saturating_sub(b.0));
    let percent = |t: u64| t as f64 / tck / secs * 100.0;
    // Batches the viewers received while the window was open (a drawer's own echo is not a
    // delivery).
    let delivered = after.delivered - before.delivered;
    StepResult {
        target,
        clients,
        websockets,
        rooms,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        p999_ms: pick(0.999),
        max_ms: pick(1.0),
        messages_per_s: reports.iter().map(|r| r.messages).sum::<u64>() as f64 / secs,
        kbytes_per_s: reports.iter().map(|r| r.bytes).sum::<u64>() as f64 / secs / 1024.0,
        batches_sent: logs.iter().map(|l| l.sends.lock().unwrap().len() as u64).sum(),
        lost_batches,
        lost_chat,
        out_of_order: reports.iter().map(|r| r.out_of_order).sum(),
        refused: reports.iter().filter(|r| r.refused).count(),
        cpu_percent: cpu_secs.map(|cpu| cpu / secs * 100.0),
        cpu_us_per_batch: cpu_secs.map(|cpu| cpu * 1e6 / delivered.max(1) as f64),
        peak_mib: process.map(|(_, a)| a.1 as f64 / 1024.0),
        rss_mib: process.map(|(_, a)| a.2 as f64 / 1024.0),
        extra_chat,
        kib_per_client: idle_anon
            .zip(process)
            .map(|(idle, (_, a))| a.3.saturating_sub(idle) as f64 / clients.max(1) as f64),
        bots_cpu_percent: bots.map(percent),
        others_cpu_percent: machine
            .zip(bots)
            .map(|(m, b)| percent(m.saturating_sub(b + server.unwrap_or(0)))),
        switches_per_batch: ticks(before.switches, after.switches)
            .map(|n| n as f64 / delivered.max(1) as f64),
        delivered,
    }
}

/// A connection's queue of frames to send, bounded in bytes as the game's is: a reader that
/// falls a megabyte behind is dropped.
const RELAY_SEND_BUDGET: usize = 1024 * 1024;

/// A member of a relay room: its id, its queue and how many bytes wait in it.
struct RelayMember {
    id: u32,
    tx: mpsc::UnboundedSender<Bytes>,
    queued: Arc<AtomicUsize>,
}

impl RelayMember {
    /// Queues a frame; past the budget the queue is closed and the writer drops the reader.
    fn send(&self, frame: Bytes) {
        let len = frame.len();
        if self.queued.fetch_add(len, Ordering::Relaxed) + len > RELAY_SEND_BUDGET {
            return;
        }
        let _ = self.tx.send(frame);
    }
}

type RelayRoom = Arc<std::sync::RwLock<Vec<RelayMember>>>;

/// The bare relay: what the game's transport does and nothing more. The handshake (the
/// protocol version and this build's fingerprint, checked; a mismatch is closed), a join
/// answered with a welcome, then every stroke batch forwarded as it came to the room's other
/// members and every chat line to all of them; frames within the game's size cap, a reader
/// more than a megabyte behind dropped. A room is looked up once, at the join; a frame takes
/// only its room's lock, to read.
async fn serve_relay(addr: SocketAddr, proto: Proto) {
    let listener = TcpListener::bind(addr).await.expect("bind the relay");
    let rooms: Arc<Mutex<HashMap<String, RelayRoom>>> = Arc::default();
    let mut next_id = 1u32;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let id = next_id;
        next_id += 1;
        let rooms = rooms.clone();
        tokio::spawn(async move {
            let (read, write) = stream.into_split();
            let mut reader = FramedRead::new(read, frame_codec());
            let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
            let queued = Arc::new(AtomicUsize::new(0));
            let written = queued.clone();
            tokio::spawn(async move {
                let mut sink = FramedWrite::new(write, frame_codec());
                while let Some(frame) = rx.recv().await {
                    let len = frame.len();
                    if written.load(Ordering::Relaxed) > RELAY_SEND_BUDGET || sink.send(frame).await.is_err()
                    {
                        break;
                    }
                    written.fetch_sub(len, Ordering::Relaxed);
                }
            });
            let me = RelayMember { id, tx, queued };
            let mut shook_hands = false;
            let mut room: Option<RelayRoom> = None;
            while let Some(Ok(frame)) = reader.next().await {
                let Ok((tag, used)) = codec::decode_prefix::<u32>(&frame) else {
                    break;
                };
                if tag < FIRST_TAG {
                    match codec::decode::<ClientControl>(&frame) {
                        Ok(ClientControl::Hello { version, fingerprint })
                            if !shook_hands
                                && version == PROTOCOL_VERSION
                                && fingerprint == proto.fingerprint =>
                        {
                            shook_hands = true;
                            me.send(control(&ServerControl::Ready));
                        }
                        Ok(ClientControl::Ping) if shook_hands => {}
                        _ => break,
                    }
                } else if !shook_hands {
                    break;
                } else if tag == proto.join && room.is_none() {
                    let Ok(join) = codec::decode::<JoinRequest>(&frame[used..]) else {
                        break;
                    };
                    let name = join.room.unwrap_or_default();
                    let members = rooms.lock().unwrap().entry(name.clone()).or_default().clone();
                    let welcome = Welcome {
                        you: ClientId(id),
                        room: name,
                        capacity: 12,
                        players: Vec::new(),
                        host: None,
                        session: [0; 16],
                        resumed: false,
                        seat_hold_secs: 0,
                    };
                    me.send(tagged(proto.welcome, &welcome));
                    members.write().unwrap().push(RelayMember {
                        id,
                        tx: me.tx.clone(),
                        queued: me.queued.clone(),
                    });
                    room = Some(members);
                } else if let Some(members) = &room {
                    let chat = tag == proto.chat_up;
                    let frame = frame.freeze();
                    for other in members.read().unwrap().iter() {
                        if chat || other.id != id {
                            other.send(frame.clone());
                        }
                    }
                } else {
                    break;
                }
            }
            if let Some(members) = room {
                members.write().unwrap().retain(|other| other.id != id);
            }
        });
    }
}

fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn table(results: &[StepResult]) -> String {
    let mut out = String::from(
        "| clients | WebSocket | target | p50 ms | p99 ms | p99.9 ms | max ms | msgs/s | KiB/s | batches | lost | out of order | refused | CPU % | CPU µs/batch | peak MiB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let opt = |v: Option<f64>, digits: usize| v.map_or("-".into(), |v| format!("{v:.digits$}"));
    for r in results {
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.clients,
            r.websockets,
            r.target,
            r.p50_ms,
            r.p99_ms,
            r.p999_ms,
            r.max_ms,
            r.messages_per_s,
            r.kbytes_per_s,
            r.batches_sent,
            r.lost_batches + r.lost_chat + r.extra_chat,
            r.out_of_order,
            r.refused,
            opt(r.cpu_percent, 1),
            opt(r.cpu_us_per_batch, 2),
            opt(r.peak_mib, 1),
        ));
    }
    out
}

/// What each step cost the server, and what else ran meanwhile.
fn cost_table(results: &[StepResult]) -> String {
    let mut out = String::from(
        "\n| clients | target | delivered | lost batches | lost chat | extra chat | server CPU µs/batch | context switches/batch | KiB/client | bots CPU % | others CPU % |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let opt = |v: Option<f64>, digits: usize| v.map_or("-".into(), |v| format!("{v:.digits$}"));
    for r in results {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.clients,
            r.target,
            r.delivered,
            r.lost_batches,
            r.lost_chat,
            r.extra_chat,
            opt(r.cpu_us_per_batch, 2),
            opt(r.switches_per_batch, 3),
            opt(r.kib_per_client, 1),
            opt(r.bots_cpu_percent, 1),
            opt(r.others_cpu_percent, 1),
        ));
    }
    out
}

fn json(results: &[StepResult]) -> String {
    let num = |v: f64| {
        if v.is_finite() {
            format!("{v:.3}")
        } else {
            "null".into()
        }
    };
    let opt = |v: Option<f64>| v.map_or("null".into(), num);
    let rows: Vec<String> = results
        .iter()
        .map(|r| {
            format!(
                "{{\"target\":\"{}\",\"clients\":{},\"websockets\":{},\"rooms\":{},\"p50_ms\":{},\"p99_ms\":{},\"p999_ms\":{},\"max_ms\":{},\"messages_per_s\":{},\"kbytes_per_s\":{},\"batches_sent\":{},\"lost_batches\":{},\"lost_chat\":{},\"extra_chat\":{},\"out_of_order\":{},\"refused\":{},\"cpu_percent\":{},\"cpu_us_per_batch\":{},\"peak_mib\":{},\"rss_mib\":{},\"kib_per_client\":{},\"bots_cpu_percent\":{},\"others_cpu_percent\":{},\"switches_per_batch\":{},\"delivered\":{}}}",
                r.target,
                r.clients,
                r.websockets,
                r.rooms,
                num(r.p50_ms),
                num(r.p99_ms),
                num(r.p999_ms),
                num(r.max_ms),
                num(r.messages_per_s),
                num(r.kbytes_per_s),
                r.batches_sent,
                r.lost_batches,
                r.lost_chat,
                r.extra_chat,
                r.out_of_order,
                r.refused,
                opt(r.cpu_percent),
                opt(r.cpu_us_per_batch),
                opt(r.peak_mib),
                opt(r.rss_mib),
                opt(r.kib_per_client),
                opt(r.bots_cpu_percent),
                opt(r.others_cpu_percent),
                opt(r.switches_per_batch),
                r.delivered,
            )
        })
        .collect();
    format!("[\n  {}\n]\n", rows.join(",\n  "))
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let proto = match &args.proto {
        Some(arg) => Proto::from_arg(arg).unwrap_or_else(|| {
            eprintln!("loadgen: --proto takes what --print-proto prints");
            std::process::exit(2);
        }),
        None => Proto::of_this_build(),
    };
    if args.print_proto {
        println!("{}", proto.to_arg());
        return;
    }
    if let Some(addr) = args.serve_relay {
        serve_relay(addr, proto).await;
        return;
    }
    let most = args.ramp.iter().copied().max().unwrap_or(0);
    if let Some(limit) = open_files_limit()
        && (limit as usize) < most + 64
    {
        eprintln!(
            "loadgen: {most} clients need more open files than this shell allows ({limit}): run `ulimit -n {}` first",
            most * 2 + 256
        );
        std::process::exit(2);
    }
    let mut relay_child = None;
    let relay_addr = SocketAddr::from(([127, 0, 0, 1], args.addr.port().wrapping_add(1)));
    if args.relay {
        let me = std::env::current_exe().expect("this program");
        let child = std::process::Command::new(me)
            .arg("--serve-relay")
            .arg(relay_addr.to_string())
            .arg("--proto")
            .arg(proto.to_arg())
            .spawn()
            .expect("start the relay");
        tokio::time::sleep(Duration::from_millis(300)).await;
        relay_child = Some(child);
    }
    let mut results = Vec::new();
    for &clients in &args.ramp {
        let step = run_step(args.addr, clients, &args, proto, args.bare_relay, args.server_pid).await;
        results.push(step);
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Some(child) = &relay_child {
            results.push(run_step(relay_addr, clients, &args, proto, true, Some(child.id())).await);
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    if let Some(mut child) = relay_child {
        let _ = child.kill();
    }
    print!("{}", table(&results));
    print!("{}", cost_table(&results));
    for step in results.iter().filter(|r| r.refused > 0) {
        println!(
            "{} clients, {}: {} bots were refused, so this step loaded the server with {} clients, not {} (raise --max-rooms or the per-address limits)",
            step.clients,
            step.target,
            step.refused,
            step.clients - step.refused,
            step.clients
        );
    }
    for pair in results.chunks(2).filter(|p| p.len() == 2 && args.relay) {
        let (game, relay) = (&pair[0], &pair[1]);
        if game.refused > 0 || relay.refused > 0 {
            println!(
                "{} clients: no comparison, since the game and the relay did not carry the same load",
                game.clients
            );
            continue;
        }
        let ratio = |g: Option<f64>, r: Option<f64>| {
            g.zip(r)
                .map_or("-".into(), |(g, r)| format!("{:.2}x", g / r.max(1e-9)))
        };
        println!(
            "{} clients: against the relay, game p99 {:.2} ms = {:.1}x; CPU per batch {}; context switches per batch {}",
            game.clients,
            game.p99_ms,
            game.p99_ms / relay.p99_ms,
            ratio(game.cpu_us_per_batch, relay.cpu_us_per_batch),
            ratio(game.switches_per_batch, relay.switches_per_batch),
        );
    }
    if let Some(path) = &args.json {
        std::fs::write(path, json(&results)).expect("write the JSON");
    }
}
