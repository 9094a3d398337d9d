//! [`NetConfig`]: the conditions of the simulated network (re-exported as
//! `seedloop::net::NetConfig`), part of [`Config`](super::Config) so that a failure's
//! `sim()` replays them.
//!
//! Every message between hosts is delayed by a latency drawn per message, uniformly
//! between a link's minimum and maximum, from the network's own stream of choices (so
//! adding a message does not reshuffle the schedule). UDP datagrams are lost or
//! duplicated at the configured rates; stream data is never lost. Rates are
//! probabilities in `0.0..=1.0`. A link (a pair of hosts, both directions) may
//! override the defaults.
//!
//! Every draw's decision 0 is the production order: the minimum latency, nothing
//! lost, nothing duplicated. So under [`Policy::Fifo`](crate::Policy::Fifo) (and a
//! tape of zeros, and the cancellation explorer's default) the network is as fast and
//! as reliable as its configuration allows: loss and duplication need a seeded
//! policy.

use std::time::Duration;

/// The conditions of one link, or the defaults of every link.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LinkConfig {
    /// The least latency of a message.
    pub latency_min: Duration,
    /// The most latency of a message.
    pub latency_max: Duration,
    /// The probability that a UDP datagram is lost.
    pub udp_loss: f64,
    /// The probability that a UDP datagram is delivered twice.
    pub udp_duplicate: f64,
}

impl Default for LinkConfig {
    fn default() -> LinkConfig {
        LinkConfig {
            latency_min: Duration::from_micros(500),
            latency_max: Duration::from_millis(2),
            udp_loss: 0.0,
            udp_duplicate: 0.0,
        }
    }
}

/// The simulated network's conditions: latency, UDP loss and duplication, per-link
/// overrides, the TCP connect timeout and the limits. Set with
/// [`Sim::net`](crate::Sim::net) (or [`Config::net`](super::Config::net)).
///
/// # Examples
///
/// ```
/// use seedloop::net::NetConfig;
/// use std::time::Duration;
/// let net = NetConfig::default()
///     .latency(Duration::from_millis(1), Duration::from_millis(10))
///     .udp_loss(0.1)
///     .link_latency("a", "b", Duration::from_millis(50), Duration::from_millis(60));
/// let sim = seedloop::Sim::new(0).net(net.clone());
/// assert_eq!(sim.config().net, net);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NetConfig {
    /// Every link's conditions, unless overridden.
    pub defaults: LinkConfig,
    /// Overrides, by pair of host names (sorted, so `("a", "b")` is both directions).
    pub links: Vec<((String, String), LinkConfig)>,
    /// How long a TCP connect waits for an answer before it fails with `TimedOut`.
    pub connect_timeout: Duration,
    /// The most bytes a connection's receiver holds unread before its sender waits.
    pub window_bytes: usize,
    /// The most messages in flight at once: past it the run fails with a report.
    pub max_in_flight: usize,
    /// The most sockets (listeners, connections' ends, UDP sockets) open at once.
    pub max_sockets: usize,
}

impl Default for NetConfig {
    fn default() -> NetConfig {
        NetConfig {
            defaults: LinkConfig::default(),
            links: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            window_bytes: 64 * 1024,
            max_in_flight: 1_000_000,
            max_sockets: 100_000,
        }
    }
}

fn check_rate(name: &str, rate: f64) {
    assert!(
        (0.0..=1.0).contains(&rate),
        "NetConfig::{name} takes a probability between 0.0 and 1.0, not {rate}"
    );
}

fn check_latency(min: Duration, max: Duration) {
    assert!(
        min <= max,
        "NetConfig latency: the minimum ({min:?}) is above the maximum ({max:?})"
    );
}

impl NetConfig {
    /// Every message's latency is drawn between `min` and `max` (default 0.5 ms to
    /// 2 ms).
    ///
    /// # Panics
    ///
    /// When `min > max`.
    #[track_caller]
    pub fn latency(mut self, min: Duration, max: Duration) -> NetConfig {
        check_latency(min, max);
        self.defaults.latency_min = min;
        self.defaults.latency_max = max;
        self
    }

    /// The probability that a UDP datagram is lost (default 0).
    #[track_caller]
    pub fn udp_loss(mut self, rate: f64) -> NetConfig {
        check_rate("udp_loss", rate);
        self.defaults.udp_loss = rate;
        self
    }

    /// The probability that a UDP datagram is delivered twice (default 0).
    #[track_caller]
    pub fn udp_duplicate(mut self, rate: f64) -> NetConfig {
        check_rate("udp_duplicate", rate);
        self.defaults.udp_duplicate = rate;
        self
    }

    /// Overrides the conditions of the link between hosts `a` and `b` (both
    /// directions).
    pub fn link(mut self, a: &str, b: &str, link: LinkConfig) -> NetConfig {
        let key = link_key(a, b);
        self.links.retain(|(existing, _)| *existing != key);
        self.links.push((key, link));
        self
    }

    /// Overrides the latency of the link between `a` and `b` only.
    #[track_caller]
    pub fn link_latency(self, a: &str, b: &str, min: Duration, max: Duration) -> NetConfig {
        check_latency(min, max);
        let mut link = self.link_config(a, b).clone();
        link.latency_min = min;
        link.latency_max = max;
        self.link(a, b, link)
    }

    /// How long a TCP connect waits for an answer (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> NetConfig {
        self.connect_timeout = timeout;
        self
    }

    /// The most bytes a connection's receiver holds unread before the sender waits
    /// (default 64 KiB).
    ///
    /// # Panics
    ///
    /// When `bytes` is 0.
    #[track_caller]
    pub fn window_bytes(mut self, bytes: usize) -> NetConfig {
        assert!(bytes > 0, "NetConfig::window_bytes must be at least 1");
        self.window_bytes = bytes;
        self
    }

    /// The most messages in flight at once (default 1,000,000).
    pub fn max_in_flight(mut self, messages: usize) -> NetConfig {
        self.max_in_flight = messages;
        self
    }

    /// The most sockets open at once (default 100,000).
    pub fn max_sockets(mut self, sockets: usize) -> NetConfig {
        self.max_sockets = sockets;
        self
    }

    /// The conditions of the link between `a` and `b`.
    pub fn link_config(&self, a: &str, b: &str) -> &LinkConfig {
        let key = link_key(a, b);
        self.links
            .iter()
            .find(|(existing, _)| *existing == key)
            .map_or(&self.defaults, |(_, link)| link)
    }
}

fn link_key(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}
