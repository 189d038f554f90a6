//! Latency: round trips of an `msg`-byte message (8 or 64 bytes) between a publisher and a
//! subscriber each way, the parent asking (`ping`), the child answering (`pong`).
//!
//! Each message is built in its loaned sample from ipc_bench's `Source` (request `i` carries
//! sequence number 2i + 1, its answer 2i + 2), and each side checksums every byte of what it
//! receives against `Source::expected` before it answers or asks again. As in iceoryx2's own
//! benchmark, each queue holds one message and each side loans its next sample right after it
//! sends, while the other side works (the loan is off the round trip's path). The waiting side
//! spins on `receive`, or sleeps on an event listener that the other side notifies after each
//! send.

use std::io;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use common::Result;
use iceoryx2::port::listener::Listener;
use iceoryx2::port::notifier::Notifier;
use iceoryx2::port::publisher::Publisher;
use iceoryx2::port::subscriber::Subscriber;
use iceoryx2::port::update_connections::UpdateConnections;
use iceoryx2::prelude::*;
use iceoryx2::sample::Sample;
use iceoryx2::sample_mut_uninit::SampleMutUninit;
use ipc_bench::data::Source;
use ipc_bench::watch::Watch;

use crate::Wake;
use crate::pair::{Names, failed, look, node, two_processes};
use crate::throughput::{checksum_of, wait};

/// The ports of one side: it publishes on `out` and subscribes to `back`.
struct Side {
    /// The sample the next message goes into, loaned after the last send (dropped first).
    next: Option<SampleMutUninit<ipc::Service, [MaybeUninit<u8>], ()>>,
    publisher: Publisher<ipc::Service, [u8], ()>,
    subscriber: Subscriber<ipc::Service, [u8], ()>,
    notifier: Option<Notifier<ipc::Service>>,
    listener: Option<Listener<ipc::Service>>,
    // Last: the node outlives its ports.
    _node: Node<ipc::Service>,
}

impl Side {
    /// The side that publishes on `out` and reads `back` (service names), with the event
    /// services `out`-event and `back`-event when it sleeps.
    fn new(
        who: &str,
        names: &Names,
        wake: Wake,
        msg: usize,
        out: &str,
        back: &str,
    ) -> io::Result<Side> {
        let node = node(who)?;
        let align = Alignment::new(64).ok_or_else(|| io::Error::other("alignment 64"))?;
        let service = |what: &str| {
            node.service_builder(&names.service(what)?)
                .publish_subscribe::<[u8]>()
                .payload_alignment(align)
                .max_publishers(1)
                .max_subscribers(1)
                .history_size(0)
                .subscriber_max_buffer_size(1)
                .enable_safe_overflow(true)
                .open_or_create()
                .map_err(|e| failed(&format!("open or create the {what} service"), e))
        };
        let event = |what: &str| {
            node.service_builder(&names.service(&format!("{what}-event"))?)
                .event()
                .max_notifiers(1)
                .max_listeners(1)
                .open_or_create()
                .map_err(|e| failed(&format!("open or create the {what} event service"), e))
        };
        let publisher = service(out)?
            .publisher_builder()
            .initial_max_slice_len(msg)
            .create()
            .map_err(|e| failed("create the publisher", e))?;
        let subscriber = service(back)?
            .subscriber_builder()
            .create()
            .map_err(|e| failed("create the subscriber", e))?;
        let (notifier, listener) = match wake {
            Wake::Spin => (None, None),
            Wake::Event => (
                Some(
                    event(out)?
                        .notifier_builder()
                        .create()
                        .map_err(|e| failed("create the notifier", e))?,
                ),
                Some(
                    event(back)?
                        .listener_builder()
                        .create()
                        .map_err(|e| failed("create the listener", e))?,
                ),
            ),
        };
        let next = Some(loan(&publisher, msg)?);
        Ok(Side {
            next,
            publisher,
            subscriber,
            notifier,
            listener,
            _node: node,
        })
    }

    /// Sends message `seq`, built in the sample loaned after the last send; then loans the
    /// next one, while the other side reads and answers.
    fn send(&mut self, src: &mut Source, seq: u64) -> io::Result<()> {
        let msg = src.message(seq).len();
        let sample = match self.next.take() {
            Some(sample) => sample,
            None => loan(&self.publisher, msg)?,
        };
        let delivered = sample
            .write_from_slice(src.message(seq))
            .send()
            .map_err(|e| failed("send", e))?;
        if delivered != 1 {
            return Err(io::Error::other(format!(
                "send: message {seq} reached {delivered} subscribers, not 1"
            )));
        }
        if let Some(notifier) = &self.notifier {
            notifier.notify().map_err(|e| failed("notify", e))?;
        }
        self.next = Some(loan(&self.publisher, msg)?);
        Ok(())
    }

    /// Connects this side's ports to the other side's, made since.
    fn connect(&self) -> io::Result<()> {
        self.publisher
            .update_connections()
            .and_then(|()| self.subscriber.update_connections())
            .map_err(|e| failed("connect", e))
    }

    /// Waits for message `seq` and checks every byte of it.
    fn take(&self, src: &Source, seq: u64, watch: &mut Watch) -> io::Result<()> {
        let sample = self.next(watch)?;
        if checksum_of(sample.payload())? != src.expected(seq) {
            return Err(io::Error::other(format!("message {seq} arrived changed")));
        }
        Ok(())
    }

    fn next(&self, watch: &mut Watch) -> io::Result<Sample<ipc::Service, [u8], ()>> {
        loop {
            if let Some(sample) = self
                .subscriber
                .receive()
                .map_err(|e| failed("receive", e))?
            {
                return Ok(sample);
            }
            look(watch)?;
            wait(self.listener.as_ref(), watch)?;
        }
    }
}

fn loan(
    publisher: &Publisher<ipc::Service, [u8], ()>,
    msg: usize,
) -> io::Result<SampleMutUninit<ipc::Service, [MaybeUninit<u8>], ()>> {
    publisher
        .loan_slice_uninit(msg)
        .map_err(|e| failed("loan", e))
}

/// `rounds` round trips of `msg` bytes; returns the time of one.
pub fn run(wake: Wake, msg: usize, rounds: u64) -> Result<Duration> {
    let label = wake.name();
    let names = Names::new();
    let elapsed = two_processes(
        label,
        "answering process",
        |link, watch| {
            let mut side = Side::new("iceoryx2_bench-pong", &names, wake, msg, "pong", "ping")?;
            let mut src = Source::new(msg);
            link.ready()?;
            link.wait_go()?;
            side.connect()?;
            link.ready()?;
            for i in 0..rounds {
                look(watch)?;
                side.take(&src, 2 * i + 1, watch)?;
                side.send(&mut src, 2 * i + 2)?;
            }
            link.report([0, 0])
        },
        |link, watch| {
            // The child's ports first, then these (which connect to them as they are made),
            // then the child's connections to these.
            link.ready(watch)?;
            let mut side = Side::new("iceoryx2_bench-ping", &names, wake, msg, "ping", "pong")?;
            let mut src = Source::new(msg);
            link.go(watch)?;
            link.ready(watch)?;
            let start = Instant::now();
            for i in 0..rounds {
                look(watch)?;
                side.send(&mut src, 2 * i + 1)?;
                side.take(&src, 2 * i + 2, watch)?;
            }
            let elapsed = start.elapsed();
            link.report(watch)?;
            Ok(elapsed)
        },
    )?;
    Ok(elapsed / rounds as u32)
}
