//! NexMark's auction events, generated from the seed: the `[job] workload =
//! "nexmark"` source log.
//!
//! NexMark models an online auction: people register (`Person`), open
//! auctions (`Auction`) and bid on them (`Bid`), in the proportions
//! 1 : 3 : 46 by default. Here each event kind is a topic of the source
//! log with `job.source-partitions` partitions, as a Kafka deployment of
//! the benchmark keeps them: persons are partitions `0..P`, auctions
//! `P..2P`, bids `2P..3P`. A topic's share of the arrival rate and of the
//! records is its share of the proportions, so the three interleave in
//! event time as NexMark's single stream does.
//!
//! The fields follow NexMark's generator (Beam's and nexmark-flink's
//! `PersonGenerator`, `AuctionGenerator`, `BidGenerator`):
//! - ids count from 1000 (`FIRST_PERSON_ID`, `FIRST_AUCTION_ID`); the
//!   `o`-th person of partition `p` has id `1000 + o·P + p`;
//! - an auction's seller is, with probability 3/4 (`hotSellersRatio` 4),
//!   the first of the latest batch of 100 people, else one of the latest
//!   1,000 people (or up to 10 not yet arrived); its category is one of
//!   10..15;
//! - a bid's auction is, with probability 1/2 (`hotAuctionRatio` 2), the
//!   first of the latest batch of 100 auctions, else one of the 100
//!   auctions in flight (or up to 10 ahead); its bidder is, with
//!   probability 3/4, the second of the latest batch of 100 people; its
//!   price is `round(10^(6u) · 100)` cents, `u` uniform in [0, 1).
//!
//! "Latest" is per partition: a generator of one partition sees the
//! persons and auctions of its own partition that have arrived by the
//! event's time. Strings (names, e-mails, cities, states) are indexes into
//! NexMark's lists, since records carry numbers.
//!
//! A job's `key-distribution`, when set, replaces NexMark's hot ratios (the
//! `hot_item_ratio` knob of CheckMate's generator): an auction's seller, a
//! bid's auction and a bid's bidder are each the entity with global id
//! `1000 + k`, `k` drawn by the distribution over the entities of every
//! partition that have arrived by the event's time (at least the hot keys
//! and one more). Under `hot(0.8, 10)` four bids in five go to the ten
//! auctions with the lowest ids, which key-by sends to ten subtasks or
//! fewer, as the hot keys of a job of keys.
//!
//! A source reads one topic and projects each event onto the record's
//! `(key, value)` with two of the event's fields ([`Projection`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::keys::KeyDistribution;
use crate::reference::splitmix64;

/// NexMark's `FIRST_PERSON_ID` and `FIRST_AUCTION_ID`.
pub const FIRST_ID: u64 = 1000;
/// NexMark's `FIRST_CATEGORY_ID` and `NUM_CATEGORIES`.
pub const FIRST_CATEGORY: u64 = 10;
pub const CATEGORIES: u64 = 5;
/// NexMark's US states, by the index a `state` field holds.
pub const STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
/// NexMark's US cities, by the index a `city` field holds.
pub const CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
/// Hot sellers, bidders and auctions are the first of a batch of this many.
const HOT_BATCH: u64 = 100;
/// `hotSellersRatio`, `hotBiddersRatio`, `hotAuctionRatio`: one in this
/// many draws is not hot.
const HOT_SELLERS_RATIO: u64 = 4;
const HOT_BIDDERS_RATIO: u64 = 4;
const HOT_AUCTION_RATIO: u64 = 2;
/// `NUM_ACTIVE_PEOPLE`, `PERSON_ID_LEAD`, `NUM_IN_FLIGHT_AUCTIONS`,
/// `AUCTION_ID_LEAD`.
const ACTIVE_PEOPLE: u64 = 1000;
const PERSON_ID_LEAD: u64 = 10;
const IN_FLIGHT_AUCTIONS: u64 = 100;
const AUCTION_ID_LEAD: u64 = 10;

/// NexMark's default proportions of persons, auctions and bids.
pub const DEFAULT_PROPORTIONS: [u64; 3] = [1, 3, 46];

/// The three event kinds, each a topic of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Person,
    Auction,
    Bid,
}

impl EventKind {
    pub const ALL: [EventKind; 3] = [EventKind::Person, EventKind::Auction, EventKind::Bid];

    /// The topic's index: persons 0, auctions 1, bids 2.
    pub fn topic(self) -> usize {
        self as usize
    }

    /// The fields an event of this kind has.
    pub fn fields(self) -> &'static [Field] {
        match self {
            EventKind::Person => &[Field::Id, Field::State, Field::City],
            EventKind::Auction => &[
                Field::Id,
                Field::Seller,
                Field::Category,
                Field::InitialBid,
                Field::Reserve,
            ],
            EventKind::Bid => &[Field::Auction, Field::Bidder, Field::Price],
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventKind::Person => "person",
            EventKind::Auction => "auction",
            EventKind::Bid => "bid",
        })
    }
}

/// A field of an event, as a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    /// A person's or an auction's id.
    Id,
    /// A person's state: an index into [`STATES`].
    State,
    /// A person's city: an index into [`CITIES`].
    City,
    Seller,
    Category,
    InitialBid,
    Reserve,
    Auction,
    Bidder,
    /// A bid's price in cents.
    Price,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = serde_json::to_value(self).expect("invariant: a field serialises");
        f.write_str(s.as_str().expect("invariant: a field is a string"))
    }
}

/// One event with its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Person {
        id: u64,
        state: u64,
        city: u64,
    },
    Auction {
        id: u64,
        seller: u64,
        category: u64,
        initial_bid: u64,
        reserve: u64,
    },
    Bid {
        auction: u64,
        bidder: u64,
        price: u64,
    },
}

impl Event {
    /// The value of `field`; `None` when this kind has no such field.
    pub fn field(&self, field: Field) -> Option<u64> {
        match (*self, field) {
            (Event::Person { id, .. }, Field::Id) | (Event::Auction { id, .. }, Field::Id) => Some(id),
            (Event::Person { state, .. }, Field::State) => Some(state),
            (Event::Person { city, .. }, Field::City) => Some(city),
            (Event::Auction { seller, .. }, Field::Seller) => Some(seller),
            (Event::Auction { category, .. }, Field::Category) => Some(category),
            (Event::Auction { initial_bid, .. }, Field::InitialBid) => Some(initial_bid),
            (Event::Auction { reserve, .. }, Field::Reserve) => Some(reserve),
            (Event::Bid { auction, .. }, Field::Auction) => Some(auction),
            (Event::Bid { bidder, .. }, Field::Bidder) => Some(bidder),
            (Event::Bid { price, .. }, Field::Price) => Some(price),
            _ => None,
        }
    }
}

/// Which two fields of a topic's events become a record's key and value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Projection {
    pub key: Field,
    pub value: Field,
}

impl Projection {
    /// What a topic no source reads is projected with (its first field
    /// twice); nothing reads it, but the log stays total.
    fn unread(kind: EventKind) -> Projection {
        let f = kind.fields()[0];
        Projection { key: f, value: f }
    }

    /// `(key, value)` of `event`.
    pub fn apply(&self, event: &Event) -> (u64, u64) {
        let get = |f: Field| {
            event
                .field(f)
                .expect("invariant: validation keeps a projection to its topic's fields")
        };
        (get(self.key), get(self.value))
    }
}

/// The NexMark source log of one run: the layout of its three topics and
/// what each is projected onto.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NexmarkLog {
    /// Partitions per topic (`job.source-partitions`).
    pub topic_partitions: u32,
    /// Persons : auctions : bids.
    pub proportions: [u64; 3],
    /// Per topic, the projection its source applies.
    pub projections: [Projection; 3],
    /// Events per partition over all three topics, and their rate.
    pub events_per_partition: u64,
    pub events_per_second: u64,
    /// The job's `key-distribution`, if set: how references pick the
    /// persons and auctions they name (NexMark's hot ratios when unset).
    pub skew: Option<KeyDistribution>,
}

impl NexmarkLog {
    /// A log whose topics are all unread (tests set the projections).
    pub fn new(topic_partitions: u32, events_per_partition: u64, events_per_second: u64) -> NexmarkLog {
        NexmarkLog {
            topic_partitions,
            proportions: DEFAULT_PROPORTIONS,
            projections: EventKind::ALL.map(Projection::unread),
            events_per_partition,
            events_per_second,
            skew: None,
        }
    }

    fn share(&self, n: u64, kind: EventKind) -> u64 {
        let total: u64 = self.proportions.iter().sum();
        let n = u128::from(n) * u128::from(self.proportions[kind.topic()]) / u128::from(total.max(1));
        u64::try_from(n).expect("invariant: a share of a u64 fits a u64")
    }

    /// Records of each partition of `kind`'s topic.
    pub fn records(&self, kind: EventKind) -> u64 {
        self.share(self.events_per_partition, kind)
    }

    /// Arrival rate of each partition of `kind`'s topic (records/s).
    pub fn rate(&self, kind: EventKind) -> u64 {
        self.share(self.events_per_second, kind)
    }

    /// The topic of log partition `p` and the partition within it.
    pub fn locate(&self, p: u32) -> (EventKind, u32) {
        let topic = p / self.topic_partitions;
        assert!(topic < 3, "invariant: partition {p} is in one of the three topics");
        (EventKind::ALL[topic as usize], p % self.topic_partitions)
    }

    /// The first log partition of `kind`'s topic.
    pub fn first_partition(&self, kind: EventKind) -> u32 {
        kind.topic() as u32 * self.topic_partitions
    }

    /// Event time (ms) of record `o` of `kind`'s topic.
    pub fn timestamp_ms(&self, kind: EventKind, o: u64) -> u64 {
        o * 1000 / self.rate(kind).max(1)
    }

    /// Records of `kind` in one partition whose event time is at most `t`.
    fn arrived_by(&self, kind: EventKind, t: u64) -> u64 {
        let rate = self.rate(kind);
        ((t + 1) * rate).div_ceil(1000).min(self.records(kind))
    }

    /// The global id of the `base0`-th person or auction of partition `lp`.
    fn id(&self, lp: u32, base0: u64) -> u64 {
        FIRST_ID + base0 * u64::from(self.topic_partitions) + u64::from(lp)
    }

    /// The event at record `o` of log partition `p`.
    pub fn event(&self, seed: u64, p: u32, o: u64) -> Event {
        let (kind, lp) = self.locate(p);
        let mut draw = Draws(splitmix64(seed ^ splitmix64((u64::from(p) << 40) ^ o)));
        let t = self.timestamp_ms(kind, o);
        let persons = self.arrived_by(EventKind::Person, t);
        match kind {
            EventKind::Person => Event::Person {
                id: self.id(lp, o),
                state: draw.below(STATES.len() as u64),
                city: draw.below(CITIES.len() as u64),
            },
            EventKind::Auction => {
                let seller = self.reference(lp, persons, &mut draw, hot_seller);
                let initial_bid = price(&mut draw);
                Event::Auction {
                    id: self.id(lp, o),
                    seller,
                    category: FIRST_CATEGORY + draw.below(CATEGORIES),
                    initial_bid,
                    reserve: initial_bid + price(&mut draw),
                }
            }
            EventKind::Bid => {
                let auctions = self.arrived_by(EventKind::Auction, t);
                let auction = self.reference(lp, auctions, &mut draw, hot_auction);
                let bidder = self.reference(lp, persons, &mut draw, hot_bidder);
                Event::Bid {
                    auction,
                    bidder,
                    price: price(&mut draw),
                }
            }
        }
    }

    /// The id a reference of partition `lp` names, given the entities of
    /// each partition `arrived`: drawn by the job's key distribution when
    /// set, else the partition's own entity NexMark's rule `nexmark` picks.
    fn reference(&self, lp: u32, arrived: u64, draw: &mut Draws, nexmark: fn(u64, &mut Draws) -> u64) -> u64 {
        match self.skew {
            Some(d) => self.skewed_reference(d, arrived, draw),
            None => self.id(lp, nexmark(arrived, draw)),
        }
    }

    /// The global id `FIRST_ID + k` of a person or an auction, `k` drawn by
    /// `d` over the entities of every partition when each has `arrived`
    /// (at least the hot keys and one more, so early references may run
    /// ahead of arrival, as NexMark's own lead does).
    fn skewed_reference(&self, d: KeyDistribution, arrived: u64, draw: &mut Draws) -> u64 {
        let at_least = match d {
            KeyDistribution::Hot { keys, .. } => keys + 1,
            KeyDistribution::Uniform | KeyDistribution::Zipf { .. } => 1,
        };
        let keys = (arrived * u64::from(self.topic_partitions)).max(at_least);
        FIRST_ID + d.key(keys, draw.next())
    }

    /// `(key, value)` of record `o` of log partition `p`, as its topic's
    /// source projects it.
    pub fn record(&self, seed: u64, p: u32, o: u64) -> (u64, u64) {
        let (kind, _) = self.locate(p);
        self.projections[kind.topic()].apply(&self.event(seed, p, o))
    }
}

/// An auction's seller (base-0, of its own partition) given the `persons`
/// arrived: NexMark's hot seller or a recent person.
fn hot_seller(persons: u64, draw: &mut Draws) -> u64 {
    if draw.below(HOT_SELLERS_RATIO) > 0 {
        persons.saturating_sub(1) / HOT_BATCH * HOT_BATCH
    } else {
        next_person(persons, draw)
    }
}

/// A bid's auction (base-0) given the `auctions` arrived: NexMark's hot
/// auction or one in flight (or a few ahead).
fn hot_auction(auctions: u64, draw: &mut Draws) -> u64 {
    let last_auction = auctions.saturating_sub(1);
    if draw.below(HOT_AUCTION_RATIO) > 0 {
        last_auction / HOT_BATCH * HOT_BATCH
    } else {
        let first = last_auction.saturating_sub(IN_FLIGHT_AUCTIONS);
        first + draw.below(last_auction - first + 1 + AUCTION_ID_LEAD)
    }
}

/// A bid's bidder (base-0) given the `persons` arrived: NexMark's hot
/// bidder or a recent person.
fn hot_bidder(persons: u64, draw: &mut Draws) -> u64 {
    if draw.below(HOT_BIDDERS_RATIO) > 0 {
        persons.saturating_sub(1) / HOT_BATCH * HOT_BATCH + 1
    } else {
        next_person(persons, draw)
    }
}

/// NexMark's `nextBase0PersonId`: one of the latest active people, or one
/// of the next few still to come.
fn next_person(persons: u64, draw: &mut Draws) -> u64 {
    let active = persons.min(ACTIVE_PEOPLE);
    persons - active + draw.below(active + PERSON_ID_LEAD)
}

/// NexMark's `PriceGenerator.nextPrice`: `round(10^(6u) · 100)` cents.
fn price(draw: &mut Draws) -> u64 {
    let u = (draw.next() >> 11) as f64 / (1u64 << 53) as f64;
    (10f64.powf(u * 6.0) * 100.0).round() as u64
}

/// A stream of draws whose whole state is one hash, so an event is a pure
/// function of its position.
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        splitmix64(self.0)
    }

    /// A draw in `0..n` (`n` ≥ 1).
    fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "invariant: a draw from an empty range");
        self.next() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log() -> NexmarkLog {
        NexmarkLog::new(2, 50_000, 5_000)
    }

    #[test]
    fn topics_share_records_and_rate_by_the_proportions() {
        let l = log();
        assert_eq!(
            EventKind::ALL.map(|k| l.records(k)),
            [1_000, 3_000, 46_000],
            "1 : 3 : 46 of 50,000 events"
        );
        assert_eq!(EventKind::ALL.map(|k| l.rate(k)), [100, 300, 4_600]);
        assert_eq!(l.locate(0), (EventKind::Person, 0));
        assert_eq!(l.locate(3), (EventKind::Auction, 1));
        assert_eq!(l.locate(4), (EventKind::Bid, 0));
        assert_eq!(l.first_partition(EventKind::Bid), 4);
        // Each topic's last record arrives by the end of the input (10 s).
        for k in EventKind::ALL {
            assert!(l.timestamp_ms(k, l.records(k) - 1) < 10_000, "{k}");
        }
    }

    #[test]
    fn arrived_counts_the_records_of_a_topic_up_to_a_time() {
        let l = log();
        for kind in EventKind::ALL {
            for t in (0..10_500).step_by(37) {
                let brute = (0..l.records(kind)).filter(|o| l.timestamp_ms(kind, *o) <= t).count() as u64;
                assert_eq!(l.arrived_by(kind, t), brute, "{kind} at {t} ms");
            }
        }
    }

    #[test]
    fn events_are_pure_functions_of_seed_and_position() {
        let l = log();
        for p in 0..6 {
            for o in [0, 1, 77, 999] {
                assert_eq!(l.event(7, p, o), l.event(7, p, o));
            }
        }
        let differs = (0..100).filter(|o| l.event(7, 4, *o) != l.event(8, 4, *o)).count();
        assert!(differs > 90, "another seed gives other bids ({differs} of 100 differ)");
    }

    #[test]
    fn ids_are_unique_and_refer_to_the_own_partition() {
        let l = log();
        let mut ids = std::collections::BTreeSet::new();
        for p in 0..2 {
            for o in 0..l.records(EventKind::Person) {
                let Event::Person { id, state, city } = l.event(1, p, o) else {
                    panic!("partition {p} holds persons")
                };
                assert!(ids.insert(id), "person id {id} twice");
                assert_eq!((id - FIRST_ID) % 2, u64::from(p), "ids interleave by partition");
                assert!(state < 6 && city < 10);
            }
        }
        for o in 0..l.records(EventKind::Auction) {
            let Event::Auction {
                seller,
                category,
                reserve,
                initial_bid,
                ..
            } = l.event(1, 3, o)
            else {
                panic!("partition 3 holds auctions")
            };
            assert_eq!((seller - FIRST_ID) % 2, 1, "a seller of partition 1's people");
            assert!((10..15).contains(&category));
            assert!(reserve >= initial_bid);
        }
    }

    #[test]
    fn bids_follow_nexmarks_hot_ratios() {
        let l = log();
        let n = l.records(EventKind::Bid);
        let mut hot_auction = 0;
        let mut hot_bidder = 0;
        let mut max_price = 0;
        for o in 0..n {
            let Event::Bid { auction, bidder, price } = l.event(3, 4, o) else {
                panic!("partition 4 holds bids")
            };
            let base0 = (auction - FIRST_ID) / 2;
            hot_auction += u64::from(base0.is_multiple_of(HOT_BATCH));
            hot_bidder += u64::from((bidder - FIRST_ID) / 2 % HOT_BATCH == 1);
            assert!((100..=100_000_000).contains(&price), "price {price}");
            max_price = max_price.max(price);
        }
        // Half the bids go to a hot auction (plus the few random draws that
        // land on a batch's first); three quarters to a hot bidder.
        let share = |x: u64| x as f64 / n as f64;
        assert!((0.49..0.53).contains(&share(hot_auction)), "{}", share(hot_auction));
        assert!((0.74..0.77).contains(&share(hot_bidder)), "{}", share(hot_bidder));
        assert!(max_price > 10_000_000, "prices reach the top decade");
    }

    #[test]
    fn sellers_follow_nexmarks_hot_ratio() {
        let l = log();
        let n = l.records(EventKind::Auction);
        let hot = (0..n)
            .filter(|o| {
                let Event::Auction { seller, .. } = l.event(3, 2, *o) else {
                    panic!("partition 2 holds auctions")
                };
                ((seller - FIRST_ID) / 2).is_multiple_of(HOT_BATCH)
            })
            .count() as f64
            / n as f64;
        // Three quarters to the first of the latest batch (plus the few
        // random draws that land on one).
        assert!((0.74..0.78).contains(&hot), "{hot}");
    }

    #[test]
    fn a_bid_refers_to_an_auction_no_further_ahead_than_nexmarks_lead() {
        let l = log();
        for o in (0..l.records(EventKind::Bid)).step_by(7) {
            let t = l.timestamp_ms(EventKind::Bid, o);
            let Event::Bid { auction, .. } = l.event(5, 4, o) else {
                panic!("bids")
            };
            let arrived = l.arrived_by(EventKind::Auction, t);
            let base0 = (auction - FIRST_ID) / 2;
            assert!(
                base0 < arrived.max(1) + AUCTION_ID_LEAD,
                "bid {o} at {t} ms on auction {base0}"
            );
        }
    }

    fn skewed(d: &str) -> NexmarkLog {
        NexmarkLog {
            skew: Some(d.parse().expect("a distribution")),
            ..log()
        }
    }

    /// Every reference (seller, auction, bidder) of one partition under
    /// `l`, as `(kind of reference, position k = id - 1000, entities of
    /// every partition arrived by then)`.
    fn references(l: &NexmarkLog) -> Vec<(&'static str, u64, u64)> {
        let mut out = Vec::new();
        for o in 0..l.records(EventKind::Auction) {
            let t = l.timestamp_ms(EventKind::Auction, o);
            let Event::Auction { seller, .. } = l.event(3, 2, o) else {
                panic!("partition 2 holds auctions")
            };
            out.push(("seller", seller - FIRST_ID, 2 * l.arrived_by(EventKind::Person, t)));
        }
        for o in 0..l.records(EventKind::Bid) {
            let t = l.timestamp_ms(EventKind::Bid, o);
            let Event::Bid { auction, bidder, .. } = l.event(3, 4, o) else {
                panic!("partition 4 holds bids")
            };
            out.push(("auction", auction - FIRST_ID, 2 * l.arrived_by(EventKind::Auction, t)));
            out.push(("bidder", bidder - FIRST_ID, 2 * l.arrived_by(EventKind::Person, t)));
        }
        out
    }

    #[test]
    fn a_hot_key_distribution_sends_its_share_to_the_lowest_ids_of_every_partition() {
        let l = skewed("hot(0.8, 10)");
        for kind in ["seller", "auction", "bidder"] {
            let refs: Vec<(u64, u64)> = references(&l)
                .into_iter()
                .filter(|r| r.0 == kind)
                .map(|r| (r.1, r.2))
                .collect();
            let hot = refs.iter().filter(|(k, _)| *k < 10).count() as f64 / refs.len() as f64;
            // 80% drawn hot, plus the cold draws' few among the first keys.
            assert!((0.79..0.83).contains(&hot), "{kind}: {hot} on the hot keys");
            assert!(
                refs.iter().all(|(k, arrived)| *k < (*arrived).max(11)),
                "{kind}: no reference beyond the entities arrived (or the hot keys and one)"
            );
            let other_partition = refs.iter().filter(|(k, _)| k % 2 == 1).count();
            assert!(other_partition * 3 > refs.len(), "{kind}: ids of both partitions");
        }
    }

    #[test]
    fn zipf_makes_the_lowest_id_the_most_referenced_and_uniform_spreads_evenly() {
        let most = |l: &NexmarkLog| {
            let mut count = std::collections::BTreeMap::new();
            let refs = references(l);
            for r in refs.iter().filter(|r| r.0 == "auction") {
                *count.entry(r.1).or_insert(0u64) += 1;
            }
            let total: u64 = count.values().sum();
            let (k, n) = count.into_iter().max_by_key(|(_, n)| *n).expect("bids");
            (k, n as f64 / total as f64)
        };
        let (k, share) = most(&skewed("zipf(1.1)"));
        assert_eq!(k, 0, "auction 1000 is rank 1");
        assert!(share > 0.1, "zipf(1.1) over thousands of auctions: {share}");
        let (_, share) = most(&skewed("uniform"));
        assert!(share < 0.01, "no auction stands out under uniform: {share}");
        // ... and reaches the auctions of both partitions arrived last.
        let refs = references(&skewed("uniform"));
        let auctions: Vec<_> = refs.iter().filter(|r| r.0 == "auction").collect();
        let top = auctions.iter().map(|r| r.1).max().expect("bids");
        let arrived = auctions.last().expect("bids").2;
        assert!(top * 10 > arrived * 9, "uniform reaches auction {top} of {arrived}");
    }

    #[test]
    fn a_projection_reads_two_fields() {
        let bid = Event::Bid {
            auction: 1002,
            bidder: 1005,
            price: 999,
        };
        let p = Projection {
            key: Field::Auction,
            value: Field::Price,
        };
        assert_eq!(p.apply(&bid), (1002, 999));
        assert_eq!(bid.field(Field::State), None);
        assert_eq!(Field::InitialBid.to_string(), "initial-bid");
    }
}
