//! The events catalogue at size, for the `search` and `event` scenarios: events and their
//! tickets written straight into the server's database (through the API, a million rows would
//! take hours), row for row as the server writes them: the same entities, `search_text` and
//! `city_key` folded by the api crate's own functions, the availability counters of each event
//! those of its seeded tickets. Then the searches and event pages the scenarios send.
//!
//! What is seeded, from a fixed random seed (the same catalogue every run):
//! - names from small word lists: "Berlin Jazz Festival", "Kalomi Live", "Tango Night with
//!   Dorefa", "Jazz Matinee"; made-up artists, a few popular and many rare; venues such as
//!   "Tonhalle Club"; 43 cities, some with accents (Zürich, München, Genève, São Paulo, Köln…),
//!   the big ones more often;
//! - start times over the next year, one event in twelve already past; one in five with an
//!   `onSaleAt`;
//! - tickets: a tenth of them on a few big events (one per 20,000 events, each with a tenth of
//!   the tickets divided among them: 20,000 to 22,500 each in a catalogue of a million), the rest
//!   spread over the other events by a Zipf law of exponent 0.7 (from a few tickets to
//!   thousands); one in seven `SOLD` (without the order that sold it: no scenario here reads
//!   orders), the others `AVAILABLE`.
//!
//! Growing the catalogue adds events and tickets with the same spread, so one database is
//! measured at each size.

use std::{sync::Arc, time::Instant};

use anyhow::{anyhow, bail};
use chrono::{DateTime, Duration, Utc};
use entity::{
    event,
    ticket::{self, TicketStatus},
};
use futures_util::{StreamExt, TryStreamExt, stream};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::browse::{Next, Request};

const GENRES: [&str; 30] = [
    "Jazz",
    "Rock",
    "Opera",
    "Symphony",
    "Techno",
    "Folk",
    "Blues",
    "Ballet",
    "Comedy",
    "Hip Hop",
    "Indie",
    "Metal",
    "Salsa",
    "Tango",
    "Gospel",
    "Chamber Music",
    "Piano",
    "Choir",
    "Reggae",
    "House",
    "Soul",
    "Funk",
    "Punk",
    "Flamenco",
    "Fado",
    "Samba",
    "K-Pop",
    "Baroque",
    "Electronic",
    "Country",
];
const KINDS: [&str; 12] = [
    "Festival", "Night", "Live", "Tour", "Gala", "Concert", "Sessions", "Weekend", "Open Air",
    "Showcase", "Marathon", "Matinee",
];
const VENUES: [&str; 24] = [
    "Philharmonie",
    "Olympia",
    "Royal",
    "Grand",
    "Apollo",
    "Paradiso",
    "Blue Note",
    "Roxy",
    "Astra",
    "Tonhalle",
    "Gasometer",
    "Palladium",
    "Colosseum",
    "Volkshaus",
    "Kulturfabrik",
    "Lido",
    "Bataclan",
    "Fabrik",
    "Mercado",
    "Teatro Municipal",
    "Casino",
    "Alte Oper",
    "Kaufleuten",
    "Victoria",
];
const VENUE_KINDS: [&str; 10] = [
    "Hall",
    "Arena",
    "Theatre",
    "Club",
    "Stadium",
    "Opera House",
    "Kulturhaus",
    "Ballroom",
    "Park",
    "Cathedral",
];
/// Cities and how many events each gets, relatively.
const CITIES: [(&str, u32); 43] = [
    ("London", 6),
    ("Berlin", 6),
    ("Paris", 6),
    ("New York", 6),
    ("Zürich", 2),
    ("München", 3),
    ("Genève", 2),
    ("São Paulo", 3),
    ("Köln", 2),
    ("Wien", 3),
    ("Kraków", 2),
    ("Malmö", 1),
    ("Montréal", 2),
    ("Bogotá", 2),
    ("Düsseldorf", 2),
    ("Barcelona", 3),
    ("Madrid", 3),
    ("Lisboa", 2),
    ("Roma", 3),
    ("Milano", 3),
    ("Amsterdam", 3),
    ("Bruxelles", 2),
    ("Praha", 2),
    ("Budapest", 2),
    ("Warszawa", 2),
    ("København", 2),
    ("Stockholm", 2),
    ("Oslo", 1),
    ("Helsinki", 1),
    ("Reykjavík", 1),
    ("Dublin", 2),
    ("Edinburgh", 1),
    ("Manchester", 2),
    ("Lyon", 2),
    ("Marseille", 1),
    ("Toulouse", 1),
    ("Chicago", 3),
    ("Los Angeles", 4),
    ("Toronto", 3),
    ("Tokyo", 4),
    ("Córdoba", 1),
    ("Medellín", 1),
    ("Nürnberg", 1),
];
/// Made-up artists: three syllables of a consonant and a vowel each ("Kalomi"), so that no
/// artist's name is the start of another's and a search for one finds only that one.
const CONSONANTS: &[u8] = b"bdfgklmnprstvz";
const VOWELS: &[u8] = b"aeiou";
const ARTISTS: usize = 20_000;

/// The classes of the search mix, as the report names them.
pub const SEARCH_CLASSES: [&str; 4] = [
    "one common word",
    "a city typed without its accent",
    "two word prefixes",
    "a rare word",
];
/// How often each class is sent, in percent.
pub const SEARCH_WEIGHTS: [u32; 4] = [30, 30, 25, 15];
const COMMON_WORDS: [&str; 6] = ["jazz", "festival", "live", "rock", "night", "london"];
const UNACCENTED_CITIES: [&str; 10] = [
    "zurich",
    "munchen",
    "geneve",
    "sao paulo",
    "koln",
    "malmo",
    "krakow",
    "montreal",
    "bogota",
    "dusseldorf",
];
const PREFIX_PAIRS: [&str; 10] = [
    "jazz berl",
    "rock lond",
    "opera wie",
    "techno kol",
    "salsa bogo",
    "fado lisb",
    "ballet pari",
    "piano zur",
    "folk dubl",
    "blues chic",
];

/// The classes of the event-page mix.
pub const EVENT_CLASSES: [&str; 2] = ["a big event", "any other event"];

pub const SEARCH: &str = "query($s: String!) { events(search: $s, first: 20) { edges { cursor node { id name venue city startsAt availableCount lowestPrice } } pageInfo { hasNextPage endCursor } } }";
pub const EVENT: &str = "query($id: ID!) { event(id: $id) { id name venue city startsAt availableCount lowestPrice tickets(first: 20, orderBy: PRICE_ASC, status: AVAILABLE) { edges { node { id price } } pageInfo { hasNextPage endCursor } } } }";

/// One seeded event, as the scenarios pick them.
#[derive(Clone, Debug)]
pub struct Seeded {
    pub id: Uuid,
    pub tickets: u32,
    pub available: u32,
    pub lowest_price_cents: Option<i64>,
    pub big: bool,
}

/// The catalogue seeded so far, and the generator that grows it.
pub struct Catalogue {
    rng: StdRng,
    artists: Vec<String>,
    artist_cum: Vec<f64>,
    artist_uses: Vec<u32>,
    city_cum: Vec<u32>,
    organizer: Uuid,
    sellers: Vec<Uuid>,
    pub events: Vec<Seeded>,
    pub tickets: usize,
    /// Where the last growth's events start in `events`: what `check` reads back, as nothing
    /// has ordered their tickets yet (the scale scenario's rush orders earlier ones).
    grown_from: usize,
}

/// What one growth step did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Growth {
    pub events_added: usize,
    pub tickets_added: usize,
    pub big_events_added: usize,
    /// Writing the rows (and, on PostgreSQL, `VACUUM ANALYZE` of both tables).
    pub seconds: f64,
}

fn capitalize(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn pick_cum<T: PartialOrd + Copy>(cum: &[T], at: T) -> usize {
    cum.partition_point(|c| *c <= at).min(cum.len() - 1)
}

/// An id of the server's kind (UUID v7) for an instant, its random bits from `rng`.
fn v7(rng: &mut StdRng, at: DateTime<Utc>) -> Uuid {
    let bytes: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis().max(0) as u64, &bytes)
        .into_uuid()
}

impl Catalogue {
    /// An empty catalogue whose events `organizer` organizes and whose tickets `sellers` list.
    pub fn new(organizer: Uuid, sellers: Vec<Uuid>) -> Self {
        let mut rng = StdRng::seed_from_u64(0x7469_636b_6574);
        let mut artists = Vec::with_capacity(ARTISTS);
        let mut seen = std::collections::HashSet::new();
        while artists.len() < ARTISTS {
            let word: String = (0..3)
                .flat_map(|_| {
                    [
                        CONSONANTS[rng.random_range(0..CONSONANTS.len())] as char,
                        VOWELS[rng.random_range(0..VOWELS.len())] as char,
                    ]
                })
                .collect();
            if seen.insert(word.clone()) {
                artists.push(capitalize(&word));
            }
        }
        // Zipf, exponent 1: a few artists play everywhere, most once or twice.
        let mut total = 0.0;
        let artist_cum = (1..=ARTISTS)
            .map(|k| {
                total += 1.0 / k as f64;
                total
            })
            .collect();
        let mut t = 0;
        let city_cum = CITIES
            .iter()
            .map(|(_, w)| {
                t += w;
                t
            })
            .collect();
        Self {
            rng,
            artists,
            artist_cum,
            artist_uses: vec![0; ARTISTS],
            city_cum,
            organizer,
            sellers,
            events: Vec::new(),
            tickets: 0,
            grown_from: 0,
        }
    }

    fn artist(&mut self) -> String {
        let top = *self.artist_cum.last().expect("artists");
        let at = self.rng.random_range(0.0..top);
        let k = pick_cum(&self.artist_cum, at);
        self.artist_uses[k] += 1;
        self.artists[k].clone()
    }

    fn name(&mut self, city: &str) -> String {
        let genre = GENRES[self.rng.random_range(0..GENRES.len())];
        let kind = KINDS[self.rng.random_range(0..KINDS.len())];
        match self.rng.random_range(0..100) {
            0..25 => format!("{city} {genre} {kind}"),
            25..50 => format!("{} {kind}", self.artist()),
            50..70 => format!("{genre} {kind} with {}", self.artist()),
            70..80 => format!("{} & {}", self.artist(), self.artist()),
            _ => format!("{genre} {kind}"),
        }
    }

    /// Tickets per new event: the big events first, then the Zipf spread in a random order.
    fn spread(&mut self, events: usize, tickets: usize) -> (usize, Vec<u32>) {
        let big = if events >= 10 {
            (events / 20_000).max(1)
        } else {
            0
        };
        let mut counts = Vec::with_capacity(events);
        let big_each = (tickets / 10).checked_div(big).unwrap_or(0);
        counts.extend(std::iter::repeat_n(big_each as u32, big));
        let rest_events = events - big;
        let rest_tickets = tickets - big_each * big;
        if rest_events > 0 {
            let w: Vec<f64> = (1..=rest_events).map(|k| (k as f64).powf(-0.7)).collect();
            let sum: f64 = w.iter().sum();
            let mut zipf: Vec<u32> = w
                .iter()
                .map(|x| (rest_tickets as f64 * x / sum).floor() as u32)
                .collect();
            let short = rest_tickets - zipf.iter().map(|c| *c as usize).sum::<usize>();
            for c in zipf.iter_mut().take(short) {
                *c += 1;
            }
            zipf.shuffle(&mut self.rng);
            counts.extend(zipf);
        }
        (big, counts)
    }

    /// One event and its tickets, with the event's counters those of the tickets.
    fn generate(
        &mut self,
        tickets: u32,
        big: bool,
        now: DateTime<Utc>,
    ) -> (event::ActiveModel, Vec<ticket::ActiveModel>, Seeded) {
        let rng = &mut self.rng;
        let top = *self.city_cum.last().expect("cities");
        let city = CITIES[pick_cum(&self.city_cum, rng.random_range(0..top))].0;
        let past = !big && rng.random_range(0..12) == 0;
        let starts_at = if past {
            now - Duration::seconds(rng.random_range(3_600..120 * 86_400))
        } else {
            now + Duration::seconds(rng.random_range(3_600..365 * 86_400))
        };
        let starts_at = api::db::trunc(starts_at);
        let created_at = api::db::trunc(
            starts_at.min(now) - Duration::seconds(rng.random_range(86_400..90 * 86_400)),
        );
        let on_sale_at = (!past && rng.random_range(0..5) == 0).then(|| {
            let window = (starts_at - created_at).num_seconds().max(2);
            created_at + Duration::seconds(rng.random_range(1..window / 2 + 1))
        });
        let venue = format!(
            "{} {}",
            VENUES[rng.random_range(0..VENUES.len())],
            VENUE_KINDS[rng.random_range(0..VENUE_KINDS.len())]
        );
        let id = v7(rng, created_at);
        // Base prices from 15 to 150, log-uniform; each ticket 0.8 to 3 times it, to 50 cents.
        let base = (1500f64.ln() + rng.random::<f64>() * (10f64).ln()).exp();
        let listed_until = starts_at.min(now);
        let span = (listed_until - created_at).num_seconds().max(1);
        let mut rows = Vec::with_capacity(tickets as usize);
        let mut available = 0u32;
        let mut lowest: Option<i64> = None;
        let mut updated_at = created_at;
        for _ in 0..tickets {
            let rng = &mut self.rng;
            let price_cents =
                (((base * rng.random_range(0.8..3.0)) / 50.0).round() as i64 * 50).max(100);
            let listed = api::db::trunc(
                created_at
                    + Duration::seconds(rng.random_range(0..span))
                    + Duration::microseconds(rng.random_range(0..1_000_000)),
            );
            let sold = rng.random_range(0..7) == 0;
            let changed = if sold {
                api::db::trunc((listed + Duration::seconds(rng.random_range(60..86_400))).min(now))
            } else {
                listed
            };
            if sold {
                updated_at = updated_at.max(changed);
            } else {
                available += 1;
                lowest = Some(lowest.map_or(price_cents, |l| l.min(price_cents)));
                updated_at = updated_at.max(listed);
            }
            let title = if big && rng.random_range(0..3) == 0 {
                "General admission, standing".to_owned()
            } else {
                format!(
                    "Section {}, row {}, seat {}",
                    (b'A' + rng.random_range(0..12u8)) as char,
                    rng.random_range(1..41),
                    rng.random_range(1..31)
                )
            };
            rows.push(ticket::ActiveModel {
                id: Set(v7(rng, listed)),
                title: Set(title),
                price_cents: Set(price_cents),
                version: Set(if sold { 3 } else { 1 }),
                status: Set(if sold {
                    TicketStatus::Sold
                } else {
                    TicketStatus::Available
                }),
                seller_id: Set(self.sellers[rng.random_range(0..self.sellers.len())]),
                event_id: Set(Some(id)),
                event_starts_at: Set(Some(starts_at)),
                event_on_sale_at: Set(on_sale_at),
                reserved_order_id: Set(None),
                reserved_until: Set(None),
                created_at: Set(listed),
                updated_at: Set(changed),
            });
        }
        let name = self.name(city);
        // As `EventService::create` writes them.
        let search_text = api::events::search::fold(&format!("{name} {venue} {city}"));
        let model = event::ActiveModel {
            id: Set(id),
            city_key: Set(api::events::search::city_key(city)),
            name: Set(name),
            venue: Set(venue),
            city: Set(city.to_owned()),
            search_text: Set(search_text),
            starts_at: Set(starts_at),
            on_sale_at: Set(on_sale_at),
            organizer_id: Set(self.organizer),
            available_count: Set(available as i64),
            lowest_price_cents: Set(lowest),
            created_at: Set(created_at),
            updated_at: Set(updated_at),
        };
        let seeded = Seeded {
            id,
            tickets,
            available,
            lowest_price_cents: lowest,
            big,
        };
        (model, rows, seeded)
    }

    /// Adds events and tickets until there are `events` and `tickets` in all, then refreshes
    /// PostgreSQL's statistics (`VACUUM ANALYZE`, which autovacuum would do by itself a little
    /// later) or checkpoints SQLite's WAL (SQLite gets no `ANALYZE`: the server never runs one).
    pub async fn grow(
        &mut self,
        db: &DatabaseConnection,
        events: usize,
        tickets: usize,
    ) -> anyhow::Result<Growth> {
        if events < self.events.len() || tickets < self.tickets {
            bail!(
                "catalogue sizes must grow: {events} events / {tickets} tickets after {} / {}",
                self.events.len(),
                self.tickets
            );
        }
        let started = Instant::now();
        let now = api::db::now();
        self.grown_from = self.events.len();
        let (n_events, n_tickets) = (events - self.events.len(), tickets - self.tickets);
        let (big, counts) = self.spread(n_events, n_tickets);
        const CHUNK: usize = 1000;
        const TICKET_BATCH: usize = 2000;
        let pg = db.get_database_backend() == DbBackend::Postgres;
        let chunks: Vec<Vec<(u32, bool)>> = counts
            .iter()
            .enumerate()
            .map(|(i, c)| (*c, i < big))
            .collect::<Vec<_>>()
            .chunks(CHUNK)
            .map(<[_]>::to_vec)
            .collect();
        let this = &mut *self;
        stream::iter(chunks)
            .map(|chunk| {
                let mut evs = Vec::with_capacity(chunk.len());
                let mut tks = Vec::new();
                for (count, is_big) in chunk {
                    let (e, t, s) = this.generate(count, is_big, now);
                    evs.push(e);
                    tks.extend(t);
                    this.events.push(s);
                    this.tickets += count as usize;
                }
                async move {
                    let txn = db.begin().await?;
                    event::Entity::insert_many(evs).exec(&txn).await?;
                    let mut tks = tks.into_iter().peekable();
                    while tks.peek().is_some() {
                        let batch: Vec<_> = tks.by_ref().take(TICKET_BATCH).collect();
                        ticket::Entity::insert_many(batch).exec(&txn).await?;
                    }
                    txn.commit().await?;
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(if pg { 2 } else { 1 })
            .try_collect::<Vec<()>>()
            .await?;
        if pg {
            db.execute_unprepared("VACUUM ANALYZE events").await?;
            db.execute_unprepared("VACUUM ANALYZE tickets").await?;
        } else {
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await?;
        }
        Ok(Growth {
            events_added: n_events,
            tickets_added: n_tickets,
            big_events_added: big,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The biggest event's ticket count.
    pub fn biggest(&self) -> u32 {
        self.events.iter().map(|e| e.tickets).max().unwrap_or(0)
    }

    /// The searches of each class, as people would type them. Rare words are artists named by
    /// one or two events so far.
    pub fn searches(&self) -> [Vec<String>; 4] {
        let owned = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let rare: Vec<String> = self
            .artist_uses
            .iter()
            .enumerate()
            .filter(|(_, n)| (1..=2).contains(*n))
            .map(|(k, _)| self.artists[k].to_lowercase())
            .take(50)
            .collect();
        [
            owned(&COMMON_WORDS),
            owned(&UNACCENTED_CITIES),
            owned(&PREFIX_PAIRS),
            rare,
        ]
    }

    /// The `search` load: each request a search of a class drawn by `SEARCH_WEIGHTS`.
    pub fn search_mix(&self) -> Next {
        let searches = Arc::new(self.searches());
        Arc::new(move |rng: &mut StdRng, _| {
            let mut at = rng.random_range(0..SEARCH_WEIGHTS.iter().sum::<u32>());
            let mut class = 0;
            while at >= SEARCH_WEIGHTS[class] {
                at -= SEARCH_WEIGHTS[class];
                class += 1;
            }
            let list = &searches[class];
            let s = if list.is_empty() {
                COMMON_WORDS[0]
            } else {
                list[rng.random_range(0..list.len())].as_str()
            };
            Request {
                query: SEARCH,
                variables: json!({ "s": s }),
                class,
            }
        })
    }

    /// The `event` load: half the pages of an event drawn in proportion to its tickets (the big
    /// events draw the crowds), half of any event.
    pub fn event_mix(&self) -> Next {
        let ids: Vec<String> = self.events.iter().map(|e| e.id.to_string()).collect();
        let big: Vec<bool> = self.events.iter().map(|e| e.big).collect();
        let mut total = 0u64;
        let cum: Vec<u64> = self
            .events
            .iter()
            .map(|e| {
                total += e.tickets as u64;
                total
            })
            .collect();
        let picks = Arc::new((ids, big, cum, total));
        Arc::new(move |rng: &mut StdRng, _| {
            let (ids, big, cum, total) = &*picks;
            let k = if *total > 0 && rng.random_bool(0.5) {
                pick_cum(cum, rng.random_range(0..*total))
            } else {
                rng.random_range(0..ids.len())
            };
            Request {
                query: EVENT,
                variables: json!({ "id": ids[k] }),
                class: usize::from(!big[k]),
            }
        })
    }

    /// Reads the biggest and a small event of the last growth back through the API and compares
    /// their counters with what was seeded; a search for a seeded city must find events.
    pub async fn check(&self, api: &testkit::Client) -> anyhow::Result<()> {
        let grown = &self.events[self.grown_from..];
        let small = grown
            .iter()
            .filter(|e| !e.big && e.tickets > 0)
            .min_by_key(|e| e.tickets);
        let biggest = grown.iter().max_by_key(|e| e.tickets);
        for e in [biggest, small].into_iter().flatten() {
            let d = api
                .data(EVENT, json!({ "id": e.id.to_string() }), None)
                .await?;
            let got = &d["event"];
            let count = got["availableCount"].as_i64();
            let lowest = got["lowestPrice"]
                .as_str()
                .and_then(|p| p.parse::<rust_decimal::Decimal>().ok());
            let want = e
                .lowest_price_cents
                .map(|c| rust_decimal::Decimal::new(c, 2));
            if count != Some(e.available as i64) || lowest != want {
                bail!(
                    "event {} reads back {count:?} available from {lowest:?}, seeded {} from {want:?}",
                    e.id,
                    e.available
                );
            }
            let first = got["tickets"]["edges"][0]["node"]["price"]
                .as_str()
                .and_then(|p| p.parse::<rust_decimal::Decimal>().ok());
            if first != want {
                bail!("event {}: cheapest listed {first:?}, lowest {want:?}", e.id);
            }
        }
        let d = api.data(SEARCH, json!({ "s": "zurich" }), None).await?;
        let n = d["events"]["edges"].as_array().map_or(0, Vec::len);
        if self.events.len() >= 1000 && n == 0 {
            return Err(anyhow!("a search for \"zurich\" found nothing"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_spread_over_a_few_big_events_and_a_long_tail() {
        let mut cat = Catalogue::new(Uuid::nil(), vec![Uuid::nil()]);
        let (big, counts) = cat.spread(100_000, 1_000_000);
        assert_eq!(big, 5);
        assert_eq!(counts.len(), 100_000);
        assert_eq!(counts.iter().map(|c| *c as usize).sum::<usize>(), 1_000_000);
        assert!(counts[..5].iter().all(|c| *c == 20_000));
        let rest = &counts[5..];
        assert!(rest.iter().all(|c| *c >= 1 && *c < 20_000));
    }

    #[test]
    fn an_event_s_counters_are_those_of_its_tickets() {
        let mut cat = Catalogue::new(Uuid::nil(), vec![Uuid::nil()]);
        let now = api::db::now();
        let (event, tickets, seeded) = cat.generate(500, true, now);
        let available: Vec<i64> = tickets
            .iter()
            .filter(|t| t.status.as_ref() == &TicketStatus::Available)
            .map(|t| *t.price_cents.as_ref())
            .collect();
        assert_eq!(*event.available_count.as_ref(), available.len() as i64);
        assert_eq!(
            *event.lowest_price_cents.as_ref(),
            available.iter().copied().min()
        );
        assert_eq!(seeded.tickets, 500);
        let text = event.search_text.as_ref();
        assert_eq!(text, &api::events::search::fold(text));
        assert!(*event.starts_at.as_ref() > now);
    }
}
