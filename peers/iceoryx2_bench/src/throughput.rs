//! Throughput: `count` messages of `msg` bytes from a publisher in the parent to a subscriber
//! in the child, through an iceoryx2 publish-subscribe service of byte slices.
//!
//! The sender loans a sample of `msg` bytes (`loan_slice_uninit`), builds the message in it
//! (`write_from_slice` from ipc_bench's `Source`: its bytes with the sequence number in the
//! first 8, the one write that puts them where the receiver reads them) and sends it. The
//! receiver checksums every byte where it lies, in the sample, and drops it (which returns the
//! memory to the publisher). The parent checks the sum of the checksums against
//! `Source::expected`, as ipc_bench does for its own rows.
//!
//! The subscriber's queue holds as many messages as ipc_bench's ring has slots (8 MiB of them,
//! 8 to 512 messages), with no overflow: a full queue makes the publisher wait
//! (`BackpressureStrategy::RetryUntilDelivered`, iceoryx2's adaptive wait: it yields, then
//! sleeps 100 µs, then 10 ms, at a time). The receiver, with nothing to read, spins
//! (`Wake::Spin`) or sleeps on an event listener that the sender notifies after each send
//! (`Wake::Event`).

use std::io;
use std::time::{Duration, Instant};

use common::{Error, Result};
use iceoryx2::port::listener::Listener;
use iceoryx2::port::update_connections::UpdateConnections;
use iceoryx2::port::{BackpressureAction, BackpressureInfo};
use iceoryx2::prelude::*;
use iceoryx2::service::port_factory::publish_subscribe::PortFactory;
use ipc_bench::data::{Source, checksum};
use ipc_bench::report::size_name;
use ipc_bench::watch::{EVERY, Watch};

use crate::Wake;
use crate::pair::{ChildLink, Names, ParentLink, failed, look, node, two_processes};

/// Messages the subscriber's queue holds: as many as ipc_bench's ring has slots for this
/// size (its `throughput::slots`: 8 MiB of messages, never fewer than 8 nor more than 512).
pub fn queue(msg: usize) -> usize {
    ((8 << 20) / msg).clamp(8, 512)
}

/// Sends `count` messages of `msg` bytes; returns the time from the first loan to the
/// receiver's last checksum. `corrupt` changes one byte of one message after it is built (the
/// check must catch it).
pub fn run(wake: Wake, msg: usize, count: u64, corrupt: bool) -> Result<Duration> {
    let label = format!("{} ({} messages)", wake.name(), size_name(msg));
    let names = Names::new();
    let mut src = Source::new(msg);
    let expected = (0..count).fold(0u64, |sum, seq| sum.wrapping_add(src.expected(seq)));
    let (elapsed, sum) = two_processes(
        &label,
        "receiver",
        |link, watch| receive(&names, wake, msg, count, link, watch),
        |link, watch| send(&names, wake, &mut src, count, corrupt, link, watch),
    )?;
    if sum != expected {
        return Err(Error::msg(
            label,
            "checksum mismatch: the bytes received are not the bytes sent",
        ));
    }
    Ok(elapsed)
}

/// The data service: slices of bytes, 64-byte aligned (ipc_bench's checksum reads u64 words,
/// and its buffers start on a cache line), one publisher, one subscriber, no history, a queue
/// of [`queue`] messages that never overflows.
fn data(
    node: &Node<ipc::Service>,
    names: &Names,
    msg: usize,
) -> io::Result<PortFactory<ipc::Service, [u8], ()>> {
    let align = Alignment::new(64).ok_or_else(|| io::Error::other("alignment 64"))?;
    node.service_builder(&names.service("data")?)
        .publish_subscribe::<[u8]>()
        .payload_alignment(align)
        .max_publishers(1)
        .max_subscribers(1)
        .history_size(0)
        .subscriber_max_buffer_size(queue(msg))
        .subscriber_max_borrowed_samples(1)
        .enable_safe_overflow(false)
        .open_or_create()
        .map_err(|e| failed("open or create the data service", e))
}

/// The event service the sender notifies and the receiver waits on (`Wake::Event`).
fn event(
    node: &Node<ipc::Service>,
    names: &Names,
) -> io::Result<iceoryx2::service::port_factory::event::PortFactory<ipc::Service>> {
    node.service_builder(&names.service("sent")?)
        .event()
        .max_notifiers(1)
        .max_listeners(1)
        .open_or_create()
        .map_err(|e| failed("open or create the event service", e))
}

#[allow(clippy::too_many_arguments)]
fn send(
    names: &Names,
    wake: Wake,
    src: &mut Source,
    count: u64,
    corrupt: bool,
    link: &mut ParentLink,
    watch: &mut Watch,
) -> io::Result<(Duration, u64)> {
    let msg = src.message(0).len();
    let node = node("iceoryx2_bench-sender")?;
    let data = data(&node, names, msg)?;
    let event = match wake {
        Wake::Spin => None,
        Wake::Event => Some(event(&node, names)?),
    };
    // The subscriber first, then the publisher (which connects to it as it is made), then the
    // subscriber's side of the connection: a publisher whose queue fills before that drops
    // the message (iceoryx2 sees no receiver to wait for).
    link.ready(watch)?;
    // A full queue: iceoryx2 retries (its adaptive wait) until there is room, and calls this
    // at each retry (10 000 yields, then sleeps of 100 µs, then 10 ms); it gives up if the
    // receiver has died, whose queue would stay full.
    let child_gone = link.child_gone();
    let publisher = data
        .publisher_builder()
        .initial_max_slice_len(msg)
        .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
        .set_backpressure_handler(move |info: &BackpressureInfo| {
            if (info.retries % 64 == 63 || info.retries > 10_000) && child_gone() {
                BackpressureAction::DiscardDataAndFail
            } else {
                BackpressureAction::Retry
            }
        })
        .max_loaned_samples(1)
        .create()
        .map_err(|e| failed("create the publisher", e))?;
    let notifier = match &event {
        None => None,
        Some(event) => Some(
            event
                .notifier_builder()
                .create()
                .map_err(|e| failed("create the notifier", e))?,
        ),
    };
    link.go(watch)?;
    link.ready(watch)?;
    let start = Instant::now();
    for seq in 0..count {
        look(watch)?;
        let sample = publisher
            .loan_slice_uninit(msg)
            .map_err(|e| failed("loan", e))?;
        let mut sample = sample.write_from_slice(src.message(seq));
        if corrupt && seq == count / 2 {
            sample.payload_mut()[msg / 2] ^= 1;
        }
        let delivered = sample.send().map_err(|e| failed("send", e))?;
        if delivered != 1 {
            return Err(io::Error::other(format!(
                "send: message {seq} reached {delivered} subscribers, not 1"
            )));
        }
        if let Some(notifier) = &notifier {
            notifier.notify().map_err(|e| failed("notify", e))?;
        }
    }
    let [sum, _] = link.report(watch)?;
    Ok((start.elapsed(), sum))
}

fn receive(
    names: &Names,
    wake: Wake,
    msg: usize,
    count: u64,
    link: &mut ChildLink,
    watch: &mut Watch,
) -> io::Result<()> {
    let node = node("iceoryx2_bench-receiver")?;
    let subscriber = data(&node, names, msg)?
        .subscriber_builder()
        .create()
        .map_err(|e| failed("create the subscriber", e))?;
    let listener = match wake {
        Wake::Spin => None,
        Wake::Event => Some(
            event(&node, names)?
                .listener_builder()
                .create()
                .map_err(|e| failed("create the listener", e))?,
        ),
    };
    link.ready()?;
    link.wait_go()?;
    subscriber
        .update_connections()
        .map_err(|e| failed("connect the subscriber", e))?;
    link.ready()?;
    let mut sum = 0u64;
    let mut got = 0;
    while got < count {
        look(watch)?;
        match subscriber.receive().map_err(|e| failed("receive", e))? {
            Some(sample) => {
                sum = sum.wrapping_add(checksum_of(sample.payload())?);
                got += 1;
            }
            None => wait(listener.as_ref(), watch)?,
        }
    }
    link.report([sum, 0])
}

/// ipc_bench's checksum of a payload, which must be 8-byte aligned (it reads u64 words); the
/// service asks for 64, so this is a check, not a cost.
pub fn checksum_of(payload: &[u8]) -> io::Result<u64> {
    if !payload.as_ptr().cast::<u64>().is_aligned() || !payload.len().is_multiple_of(8) {
        return Err(io::Error::other(format!(
            "a payload of {} bytes at {:p}: not whole 8-byte words",
            payload.len(),
            payload.as_ptr()
        )));
    }
    Ok(checksum(payload))
}

/// Nothing to read: spin once round the loop, or sleep on the listener until the other side
/// notifies (at most the watch's interval, so that the watch still looks).
pub fn wait(listener: Option<&Listener<ipc::Service>>, watch: &mut Watch) -> io::Result<()> {
    match listener {
        None => {
            std::hint::spin_loop();
            Ok(())
        }
        Some(listener) => match listener.timed_wait(|_| {}, EVERY) {
            Ok(_) => Ok(()),
            // Interrupted by a signal: the watch says which; else it is an error.
            Err(e) => {
                watch.check()?;
                look(watch)?;
                Err(failed("wait on the listener", e))
            }
        },
    }
}
