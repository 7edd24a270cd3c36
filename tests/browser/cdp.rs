//! A headless Chromium driven over the DevTools protocol: JSON commands and events on the
//! browser's own WebSocket (tungstenite, already the server's WebSocket crate), one page
//! attached in flat mode. What the tests need and no more: open a page, run script, read the
//! console, take screenshots, and type, click, drag and touch as a person would.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

/// The browser: Chromium (Debian's `chromium`), or the one `CHROMIUM` names.
pub fn find_chromium() -> Option<String> {
    if let Ok(path) = std::env::var("CHROMIUM") {
        return Some(path);
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(str::to_owned)
}

/// A headless Chromium with one page, killed when dropped.
pub struct Browser {
    child: Child,
    socket: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    /// Every event the page sent, in order.
    pub events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts the browser with a page of `width` x `height` CSS pixels showing `url`; `phone`
    /// makes it a touch screen with a phone's viewport.
    pub fn open(url: &str, (width, height): (u32, u32), phone: bool) -> Self {
        let chromium = find_chromium().expect(
            "the browser tests need Chromium: sudo apt-get install chromium (scripts/test installs it when run as root), or name one in CHROMIUM",
        );
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--use-angle=swiftshader",
                "--enable-unsafe-swiftshader",
                "--remote-debugging-port=0",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows",
                "--lang=en-US",
                &format!("--window-size={width},{height}"),
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start Chromium");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url_line = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| line.split("DevTools listening on ").nth(1).map(str::to_owned))
            .expect("Chromium printed its DevTools address");
        // The rest of its chatter is drained so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let authority = url_line
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let stream = TcpStream::connect(&authority).expect("connect to DevTools");
        let (socket, _) = tungstenite::client(url_line.trim(), stream).expect("DevTools' WebSocket");
        // Reads wait a little at a time, so the page's events are taken while waiting.
        socket
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut browser = Self {
            child,
            socket,
            session: String::new(),
            next_id: 0,
            events: Vec::new(),
            _profile: profile,
        };
        let target = browser.call("Target.createTarget", json!({ "url": "about:blank" }));
        let target = target["targetId"].as_str().unwrap().to_owned();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.call("Runtime.enable", json!({}));
        browser.call("Page.enable", json!({}));
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": phone }),
        );
        if phone {
            browser.call(
                "Emulation.setTouchEmulationEnabled",
                json!({ "enabled": true, "maxTouchPoints": 5 }),
            );
        }
        browser.call("Page.navigate", json!({ "url": url }));
        browser
    }

    /// Sends a command to the page (or the browser, before a page is attached) and waits for
    /// its answer; panics on an error.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    pub fn try_call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            command["sessionId"] = json!(self.session);
        }
        self.socket
            .send(Message::Text(command.to_string().into()))
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if Instant::now() > deadline {
                return Err("no answer within 60 s".into());
            }
            let Some(message) = self.read()? else { continue };
            if message["id"] == json!(id) {
                return match message.get("error") {
                    Some(error) => Err(error.to_string()),
                    None => Ok(message["result"].clone()),
                };
            }
            self.events.push(message);
        }
    }

    /// The next message, `None` if none came within the read time-out.
    fn read(&mut self) -> Result<Option<Value>, String> {
        match self.socket.read() {
            Ok(Message::Text(text)) => Ok(serde_json::from_str(&text).ok()),
            Ok(_) => Ok(None),
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Takes what the page has sent meanwhile (console lines, exceptions).
    pub fn pump(&mut self) {
        while let Ok(Some(message)) = self.read() {
            self.events.push(message);
        }
    }

    /// The page's console lines and uncaught exceptions so far, as text.
    pub fn console(&mut self) -> Vec<String> {
        self.pump();
        self.events
            .iter()
            .filter_map(|event| match event["method"].as_str()? {
                "Runtime.consoleAPICalled" => {
                    let params = &event["params"];
                    let args: Vec<String> = params["args"]
                        .as_array()?
                        .iter()
                        .map(|a| match &a["value"] {
                            Value::String(s) => s.clone(),
                            Value::Null => a["description"].as_str().unwrap_or("").to_owned(),
                            other => other.to_string(),
                        })
                        .collect();
                    Some(format!("{}: {}", params["type"].as_str()?, args.join(" ")))
                }
                "Runtime.exceptionThrown" => {
                    Some(format!("exception: {}", event["params"]["exceptionDetails"]))
                }
                _ => None,
            })
            .collect()
    }

    /// Waits until a console line contains `text`; the line, or `None` after `within`.
    pub fn wait_console(&mut self, text: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(line) = self.console().into_iter().find(|l| l.contains(text)) {
                return Some(line);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Evaluates a JavaScript expression in the page; its value.
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        );
        result["result"]["value"].clone()
    }

    /// The page as it looks now: width, height and RGBA pixels.
    pub fn screenshot(&mut self) -> Screenshot {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(&png)).read_info().unwrap();
        let mut rgba = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut rgba).unwrap();
        rgba.truncate(info.buffer_size());
        let rgba = match info.color_type {
            png::ColorType::Rgba => rgba,
            png::ColorType::Rgb => rgba.chunks(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
            other => panic!("a screenshot in {other:?}"),
        };
        Screenshot {
            width: info.width,
            height: info.height,
            rgba,
            png,
        }
    }

    /// A mouse button or move at (`x`, `y`) in CSS pixels.
    pub fn mouse(&mut self, kind: &str, x: f64, y: f64) {
        let buttons = if kind == "mouseReleased" { 0 } else { 1 };
        self.call(
            "Input.dispatchMouseEvent",
            json!({ "type": kind, "x": x, "y": y, "button": "left", "buttons": buttons, "clickCount": 1 }),
        );
    }

    /// A click as a hand makes it: the pointer there first, the button held a moment (so a
    /// slow frame does not see the press and the release at once).
    pub fn click(&mut self, x: f64, y: f64) {
        self.mouse("mouseMoved", x, y);
        std::thread::sleep(Duration::from_millis(100));
        self.mouse("mousePressed", x, y);
        std::thread::sleep(Duration::from_millis(150));
        self.mouse("mouseReleased", x, y);
    }

    /// A drag through `points` with the left button held, a frame's pause between moves.
    pub fn drag(&mut self, points: &[(f64, f64)]) {
        let (x, y) = points[0];
        self.mouse("mouseMoved", x, y);
        self.gesture(
            points,
            ["mousePressed", "mouseMoved", "mouseReleased"],
            Self::mouse,
        );
    }

    /// `down` at the first of `points`, `moved` through the rest a frame apart, `up` at the
    /// last, each event sent with `send`.
    fn gesture(
        &mut self,
        points: &[(f64, f64)],
        [down, moved, up]: [&str; 3],
        send: fn(&mut Self, &str, f64, f64),
    ) {
        let (x, y) = points[0];
        send(self, down, x, y);
        for &(x, y) in &points[1..] {
            std::thread::sleep(Duration::from_millis(30));
            send(self, moved, x, y);
        }
        let (x, y) = points[points.len() - 1];
        send(self, up, x, y);
    }

    /// One finger's touch event (`touchStart`, `touchMove`, `touchEnd`) at (`x`, `y`).
    pub fn touch(&mut self, kind: &str, x: f64, y: f64) {
        let points = if kind == "touchEnd" {
            json!([])
        } else {
            json!([{ "x": x, "y": y, "id": 1 }])
        };
        self.call(
            "Input.dispatchTouchEvent",
            json!({ "type": kind, "touchPoints": points }),
        );
    }

    /// A finger's tap, held a moment as a person's is.
    pub fn tap(&mut self, x: f64, y: f64) {
        self.touch("touchStart", x, y);
        std::thread::sleep(Duration::from_millis(150));
        self.touch("touchEnd", x, y);
    }

    /// A finger dragged through `points`, a frame's pause between moves.
    pub fn touch_drag(&mut self, points: &[(f64, f64)]) {
        self.gesture(points, ["touchStart", "touchMove", "touchEnd"], Self::touch);
    }

    /// A key pressed and released (`key` as the DOM names it: "Enter", "a").
    pub fn key(&mut self, key: &str, code: &str, key_code: u32, text: Option<&str>) {
        let mut down =
            json!({ "type": "keyDown", "key": key, "code": code, "windowsVirtualKeyCode": key_code });
        if let Some(text) = text {
            down["text"] = json!(text);
        }
        self.call("Input.dispatchKeyEvent", down);
        self.call(
            "Input.dispatchKeyEvent",
            json!({ "type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": key_code }),
        );
    }

    /// Text through the input method: each syllable composed as a person's IME shows it, then
    /// committed.
    pub fn ime_type(&mut self, compositions: &[&str], commit: &str) {
        for text in compositions {
            let len = text.chars().count();
            self.call(
                "Input.imeSetComposition",
                json!({ "text": text, "selectionStart": len, "selectionEnd": len }),
            );
            std::thread::sleep(Duration::from_millis(30));
        }
        self.call("Input.insertText", json!({ "text": commit }));
    }
}

/// A screenshot's pixels.
pub struct Screenshot {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
    pub png: Vec<u8>,
}

impl Screenshot {
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        self.rgba[i..i + 4].try_into().unwrap()
    }

    /// Pixels within `area` (x, y, width, height) that `like` accepts.
    pub fn count(&self, (x0, y0, w, h): (u32, u32, u32, u32), like: impl Fn([u8; 4]) -> bool) -> usize {
        (y0..y0 + h)
            .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
            .filter(|&(x, y)| like(self.pixel(x, y)))
            .count()
    }

    /// Saves it for a person to look at (`BROWSER_SHOTS=DIR`).
    pub fn keep(&self, name: &str) {
        if let Some(dir) = std::env::var_os("BROWSER_SHOTS") {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), &self.png);
        }
    }
}
