//! Routing ticks to the worker that owns their pair.
//!
//! Each pair's state lives on one worker, [`pair_owner`]. timely's exchange routes record by
//! record: it moves every tick out of the container it came in and into a buffer for its
//! worker, work a one-worker graph skips. A source already handles each tick once as it makes
//! it, so it puts it in its owner's batch then ([`ByOwner`]), and the exchange ([`by_pair`])
//! moves a container whose ticks all have one owner as it is. Containers that mix owners still
//! work: they are routed record by record, as timely does. Of what two workers ran beyond one
//! worker's instructions, this took away 38 % (benches/HISTORY.md, sixteenth sitting).

use timely::communication::Push;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::DistributorPact;
use timely::dataflow::channels::pushers::exchange::{Distributor, DrainContainerDistributor};
use timely::dataflow::channels::{Message, Stamp};

use crate::quote::Tick;

/// The worker that owns a pair: FNV-1a of its name, so a pair lands on the same worker in every
/// run and a resumed worker knows which stored pairs are its own.
pub fn pair_owner(pair: &str, peers: usize) -> usize {
    // Every tick asks, twice on several workers (see [`ByPair`]): one worker needs no hash, and
    // for a power of two a mask gives the same worker as the remainder, without a division.
    if peers <= 1 {
        return 0;
    }
    let (hash, peers) = (pair_hash(pair), peers as u64);
    let owner = if peers.is_power_of_two() {
        hash & (peers - 1)
    } else {
        hash % peers
    };
    owner as usize
}

fn pair_hash(pair: &str) -> u64 {
    pair.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn tick_hash(tick: &Tick) -> u64 {
    pair_hash(&tick.quote.pair)
}

/// The exchange of ticks by [`pair_owner`].
pub type ByPairPact = DistributorPact<fn(usize) -> ByPair>;

/// Ticks to the workers that own their pairs, a container at a time where it can.
pub fn by_pair() -> ByPairPact {
    DistributorPact(ByPair::new)
}

/// timely's record-by-record distributor, on [`pair_hash`]. It maps a hash to a worker as
/// [`pair_owner`] does (a mask for a power of two, else the remainder), so a tick reaches the
/// same worker by either path; `every_tick_reaches_its_owner_once` checks both, on 2 and 3.
type ByRecord = DrainContainerDistributor<CapacityContainerBuilder<Vec<Tick>>, fn(&Tick) -> u64>;

/// The distributor of [`by_pair`]. Within a time, a whole container may overtake ticks routed
/// one by one before it: `QuoteMetrics` orders what it receives itself.
pub struct ByPair {
    /// For containers that mix owners.
    records: ByRecord,
}

impl ByPair {
    fn new(peers: usize) -> Self {
        ByPair {
            records: DrainContainerDistributor::new(tick_hash as fn(&Tick) -> u64, peers),
        }
    }
}

impl Distributor<Vec<Tick>> for ByPair {
    fn partition<T: Clone, P: Push<Message<T, Vec<Tick>>>>(
        &mut self,
        container: &mut Vec<Tick>,
        stamp: &Stamp<T>,
        pushers: &mut [P],
    ) {
        let peers = pushers.len();
        let mut owners = container.iter().map(|t| pair_owner(&t.quote.pair, peers));
        let whole = owners.next().filter(|&to| owners.all(|owner| owner == to));
        match whole.and_then(|to| pushers.get_mut(to)) {
            Some(pusher) => Message::push_at(container, stamp.clone(), pusher),
            None => self.records.partition(container, stamp, pushers),
        }
    }

    fn flush<T: Clone, P: Push<Message<T, Vec<Tick>>>>(
        &mut self,
        stamp: &Stamp<T>,
        pushers: &mut [P],
    ) {
        self.records.flush(stamp, pushers);
    }

    fn relax(&mut self) {
        self.records.relax();
    }
}

/// A source's ticks, in a batch per owning worker, so each batch crosses [`by_pair`] whole.
#[derive(Debug)]
pub struct ByOwner {
    /// One per worker.
    batches: Vec<Vec<Tick>>,
}

impl ByOwner {
    /// Ticks a batch holds when [`ByOwner::push`] calls it full. timely sizes its own containers
    /// to 8 KiB, 68 ticks; at 512 (61 KB) two workers of the in-memory graph spent 4 % less CPU
    /// on a tick and ran 1.03 × as fast, one worker as fast as before (36 paired `fixed`
    /// rounds on an AMD EPYC; 1.028 × and 0.987 × in 12 on an Intel Xeon), and 256 and 2,048
    /// measured alike (README, twenty-third and twenty-fourth sittings). The Kafka source sends
    /// once per activation and starts its batches at this size.
    pub const CAPACITY: usize = 512;

    /// Batches for a graph of `peers` workers.
    pub fn new(peers: usize) -> Self {
        ByOwner {
            batches: vec![Vec::new(); peers.max(1)],
        }
    }

    /// Adds `tick` to its owner's batch; returns the owner once that batch holds
    /// [`ByOwner::CAPACITY`] ticks. A sent batch lost its allocation to the channel, so an empty
    /// one gets its capacity back here rather than growing to it.
    pub fn push(&mut self, tick: Tick) -> Option<usize> {
        let owner = pair_owner(&tick.quote.pair, self.batches.len());
        let batch = &mut self.batches[owner];
        if batch.capacity() == 0 {
            batch.reserve(Self::CAPACITY);
        }
        batch.push(tick);
        (batch.len() >= Self::CAPACITY).then_some(owner)
    }

    /// Hands `owner`'s batch to `send`, then empties it: timely leaves a container it sent in no
    /// particular state.
    pub fn send(&mut self, owner: usize, send: impl FnOnce(&mut Vec<Tick>)) {
        if let Some(batch) = self.batches.get_mut(owner).filter(|b| !b.is_empty()) {
            send(batch);
            batch.clear();
        }
    }

    /// Hands every batch holding ticks to [`ByOwner::send`]'s `send`, full or not: what to do
    /// before the source's time moves.
    pub fn send_all(&mut self, mut send: impl FnMut(&mut Vec<Tick>)) {
        for owner in 0..self.batches.len() {
            self.send(owner, &mut send);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use crate::quote::Origin;

    /// What reached each worker, message by message.
    #[derive(Default)]
    struct Worker(Vec<Vec<Tick>>);

    impl Push<Message<u64, Vec<Tick>>> for Worker {
        fn push(&mut self, message: &mut Option<Message<u64, Vec<Tick>>>) {
            if let Some(message) = message.take() {
                self.0.push(message.data);
            }
        }
    }

    fn tick(pair: &str, offset: i64) -> Tick {
        let value = format!(r#"{{"pair":"{pair}","bid":"1","ask":"2","timestamp":0}}"#);
        let origin = Origin {
            topic: 0,
            partition: 0,
            offset,
        };
        let quote = decode(value.as_bytes()).expect("a valid quote");
        Tick {
            quote,
            origin,
            due: 0,
        }
    }

    fn pairs(peers: usize) -> Vec<String> {
        (0..peers * 8).map(|p| format!("P{p}-USD")).collect()
    }

    /// Runs `containers` through a [`ByPair`] of `peers` workers.
    fn route(containers: Vec<Vec<Tick>>, peers: usize) -> Vec<Worker> {
        let mut workers: Vec<Worker> = (0..peers).map(|_| Worker::default()).collect();
        let mut distributor = ByPair::new(peers);
        let stamp = Stamp::from_elem(0u64);
        for mut container in containers {
            distributor.partition(&mut container, &stamp, &mut workers);
        }
        distributor.flush(&stamp, &mut workers);
        workers
    }

    #[test]
    fn every_tick_reaches_its_owner_once() {
        for peers in [2, 3] {
            let pairs = pairs(peers);
            // Enough ticks that batches fill (checked below) and partial ones are left.
            let count = 2 * peers * ByOwner::CAPACITY + 100;
            let ticks: Vec<Tick> = (0..count)
                .map(|i| tick(&pairs[i % pairs.len()], i as i64))
                .collect();
            let mut batches = ByOwner::new(peers);
            let mut containers: Vec<Vec<Tick>> = Vec::new();
            let mut take = |batch: &mut Vec<Tick>| containers.push(std::mem::take(batch));
            for t in &ticks {
                if let Some(owner) = batches.push(t.clone()) {
                    batches.send(owner, &mut take);
                }
            }
            batches.send_all(&mut take);
            assert!(containers.iter().any(|c| c.len() == ByOwner::CAPACITY));
            let mixed = ticks.chunks(100).map(<[Tick]>::to_vec).collect();
            for workers in [route(containers, peers), route(mixed, peers)] {
                let mut offsets = Vec::new();
                for (index, worker) in workers.iter().enumerate() {
                    for t in worker.0.iter().flatten() {
                        assert_eq!(pair_owner(&t.quote.pair, peers), index);
                        offsets.push(t.origin.offset);
                    }
                }
                offsets.sort_unstable();
                assert_eq!(offsets, (0..count as i64).collect::<Vec<i64>>());
            }
        }
    }

    #[test]
    fn a_batch_of_one_owner_crosses_whole() {
        let peers = 2;
        let mut batches = ByOwner::new(peers);
        let owner = pairs(peers)
            .iter()
            .cycle()
            .enumerate()
            .find_map(|(i, pair)| batches.push(tick(pair, i as i64)))
            .expect("a batch fills");
        let mut full = Vec::new();
        batches.send(owner, |batch| full = std::mem::take(batch));
        assert_eq!(full.len(), ByOwner::CAPACITY);
        let buffer = full.as_ptr();
        let workers = route(vec![full], peers);
        assert_eq!(workers[owner].0.len(), 1);
        assert_eq!(workers[owner].0[0].as_ptr(), buffer);
        assert!(workers[1 - owner].0.is_empty());
    }
}
