//! A dropped connection and the seat: the attempts to get it back by themselves (the back-off,
//! the give-up when the server would no longer hold it), and joining again by hand.

use super::*;

/// While set, the connection dropped and this client is trying to get its seat back: the
/// room stays on screen, and the attempts stop when the seat's hold runs out.
#[derive(Resource, Default, Debug)]
pub struct Reconnecting(pub Option<Attempts>);

#[derive(Debug, Clone)]
pub struct Attempts {
    /// The attempt under way or next (1-based).
    pub attempt: u32,
    /// Why the connection dropped (what the player is told if the seat cannot be had back).
    pub why: ConnectionError,
    /// How long the server holds the seat.
    pub hold: Duration,
    started: Duration,
    /// When to try next; `None` while an attempt is under way.
    next_at: Option<Duration>,
}

/// Join the last server and room again, by hand, as a newcomer (after the session ended: the
/// seat was not kept, or the server restarted), under `name` if the player chose another.
#[derive(Message, Debug, Clone, Default)]
pub struct Rejoin {
    pub name: Option<String>,
}

/// The player gave up reconnecting.
#[derive(Message, Debug, Clone, Default)]
pub struct CancelReconnect;

/// The wait before attempt `n` (1-based): 0.5 s, doubling, at most 8 s.
pub fn backoff(n: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << n.saturating_sub(1).min(4)))
}

/// Whether a connection that ended this way may get its seat back (the server holds seats of
/// connections that dropped, not of players it closed for cause or that left).
pub(super) fn may_resume(error: &ConnectionError) -> bool {
    matches!(
        error,
        ConnectionError::Lost
            | ConnectionError::ServerSilent
            | ConnectionError::ServerGone
            | ConnectionError::ClosedByServer(CloseReason::TimedOut | CloseReason::TooSlow)
    )
}

/// The server is restarting (or draining to): seats do not survive it.
pub(super) fn is_restart(error: &ConnectionError) -> bool {
    matches!(
        error,
        ConnectionError::ClosedByServer(
            CloseReason::ServerRestarting | CloseReason::Refused(Refusal::Draining)
        )
    )
}

/// A connection that ended: a dropped one starts the attempts to get the seat back (while the
/// server holds it); anything else, or a refused attempt, ends the session.
pub(super) fn end_session(
    time: Res<Time<Real>>,
    mut roster: ResMut<Roster>,
    seat: Res<Seat>,
    mut reconnecting: ResMut<Reconnecting>,
    mut browsing: ResMut<Browsing>,
    mut ended: MessageReader<ConnectionEnded>,
    mut out: MessageWriter<SessionEnded>,
) {
    let now = time.elapsed();
    for ConnectionEnded(error) in ended.read() {
        // The room list's connection: the list says why it stopped.
        if let Some(browser) = &mut browsing.0
            && roster.me.is_none()
            && reconnecting.0.is_none()
        {
            browser.error = Some(error.clone());
            continue;
        }
        let rejection = roster.rejection.take();
        let retry = match (&mut reconnecting.0, &rejection) {
            // The seat died with the server's process: the token is no use against it.
            (Some(_), None) if is_restart(error) => None,
            (Some(attempts), None) => Some(attempts),
            (Some(attempts), Some(why)) if why.is_transient() => Some(attempts),
            (Some(_), Some(_)) => None,
            (None, _) if roster.me.is_some() && seat.token.is_some() && may_resume(error) => {
                info!("connection dropped ({error}); trying to get the seat back");
                Some(reconnecting.0.insert(Attempts {
                    attempt: 0,
                    why: error.clone(),
                    hold: seat.hold,
                    started: now,
                    next_at: None,
                }))
            }
            (None, _) => None,
        };
        if let Some(attempts) = retry {
            attempts.attempt += 1;
            attempts.next_at = Some(now + backoff(attempts.attempt));
            continue;
        }
        let error = match reconnecting.0.take() {
            Some(_) if is_restart(error) => error.clone(),
            Some(attempts) => attempts.why,
            None => error.clone(),
        };
        roster.me = None;
        out.write(SessionEnded { error, rejection });
    }
}

/// Tries again when the back-off is over, presenting the seat's token; gives up when the
/// server would no longer hold the seat.
pub(super) fn retry_join(
    time: Res<Time<Real>>,
    state: Res<State<ClientState>>,
    seat: Res<Seat>,
    mut roster: ResMut<Roster>,
    mut reconnecting: ResMut<Reconnecting>,
    mut pending: ResMut<PendingJoin>,
    mut connect: MessageWriter<ConnectRequested>,
    mut out: MessageWriter<SessionEnded>,
) {
    let now = time.elapsed();
    let Some(attempts) = &mut reconnecting.0 else {
        return;
    };
    let Some(next_at) = attempts.next_at else {
        return;
    };
    if now.saturating_sub(attempts.started) > seat.hold {
        let error = attempts.why.clone();
        reconnecting.0 = None;
        roster.me = None;
        out.write(SessionEnded {
            error,
            rejection: None,
        });
        return;
    }
    if now < next_at || *state.get() != ClientState::Disconnected {
        return;
    }
    let Some(join) = &seat.join else { return };
    attempts.next_at = None;
    pending.0 = Some(JoinRequest {
        resume: seat.token,
        ..join.clone()
    });
    connect.write(ConnectRequested {
        addr: seat.addr.clone(),
    });
}

/// The player gave up getting the seat back (the screen goes back to the launcher): an attempt
/// under way is dropped.
pub(super) fn cancel_reconnect(
    mut cancel: MessageReader<CancelReconnect>,
    mut reconnecting: ResMut<Reconnecting>,
    mut pending: ResMut<PendingJoin>,
    mut leave: MessageWriter<LeaveRequested>,
) {
    if cancel.read().last().is_some() && reconnecting.0.take().is_some() {
        pending.0 = None;
        leave.write(LeaveRequested);
    }
}

pub(super) fn rejoin(
    mut asked: MessageReader<Rejoin>,
    mut seat: ResMut<Seat>,
    state: Res<State<ClientState>>,
    mut pending: ResMut<PendingJoin>,
    mut roster: ResMut<Roster>,
    mut connect: MessageWriter<ConnectRequested>,
    mut new_session: MessageWriter<NewSession>,
) {
    let Some(Rejoin { name }) = asked.read().last() else {
        return;
    };
    if *state.get() != ClientState::Disconnected {
        return;
    }
    if let Some(join) = &mut seat.join {
        // A name chosen in the dialog is this seat's from now on (a later reconnect uses it).
        if let Some(name) = name {
            join.name.clone_from(name);
        }
        pending.0 = Some(JoinRequest {
            resume: None,
            ..join.clone()
        });
        begin_session(&mut roster, &mut new_session);
        connect.write(ConnectRequested {
            addr: seat.addr.clone(),
        });
    }
}
