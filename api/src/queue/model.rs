//! A place in an event's queue as the domain sees it, worked out from the stored entry and the
//! queue's counters (`place`), and the bus message an admission step sends (`QueueAdvanced`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::store::{Entry, Progress};
use crate::ids::EventId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueueStatus {
    Waiting,
    Admitted,
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub event_id: EventId,
    pub status: QueueStatus,
    /// 1-based among those still waiting; `None` before the sale.
    pub position: Option<u64>,
    pub eta_seconds: Option<u64>,
    pub admitted_until: Option<DateTime<Utc>>,
    pub joined_at: DateTime<Utc>,
}

/// What one admission step did, for every replica's subscribers: sent on the bus, not stored
/// (the queue's state is in its store; a lost message is made up by the subscribers' own reads).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueAdvanced {
    pub event_id: EventId,
    /// Places admitted before and after the step.
    pub admitted_before: u64,
    pub admitted: u64,
    pub at: DateTime<Utc>,
    /// The pre-queue was just frozen (every place now has a number).
    pub froze: bool,
    pub sold_out: bool,
}

/// The place an entry has when the queue is at `progress`. `admitted_at` is when its number was
/// admitted, if it has been; `rate` and `admission` are the queue's settings.
pub fn place(
    event_id: EventId,
    entry: Entry,
    progress: Progress,
    admitted_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    rate: u64,
    admission: Duration,
) -> Place {
    let joined_at = DateTime::<Utc>::from_timestamp_millis(entry.joined_at_ms).unwrap_or(now);
    let mut place = Place {
        event_id,
        status: QueueStatus::Waiting,
        position: None,
        eta_seconds: None,
        admitted_until: None,
        joined_at,
    };
    let Some(number) = entry.number else {
        return place;
    };
    if number <= progress.admitted {
        let until =
            admitted_at.unwrap_or(now) + chrono::Duration::from_std(admission).unwrap_or_default();
        place.admitted_until = Some(until);
        place.status = if now < until {
            QueueStatus::Admitted
        } else {
            QueueStatus::Expired
        };
    } else if progress.sold_out {
        place.status = QueueStatus::Expired;
    } else {
        let position = number - progress.admitted;
        place.position = Some(position);
        place.eta_seconds = Some(position.div_ceil(rate.max(1)));
    }
    place
}

/// Whether a waiting place that was at `last` and is now at `now` has moved enough to be pushed:
/// by 1 % of where it was, and by at least 10 places (so the front of a queue is not pushed on
/// every admission of one, nor the back on every step).
pub fn moved_enough(last: u64, now: u64) -> bool {
    last.saturating_sub(now) >= (last / 100).max(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u64 = 50;
    const ADMISSION: Duration = Duration::from_secs(600);

    fn at(
        n: Option<u64>,
        admitted: u64,
        sold_out: bool,
        admitted_at: Option<DateTime<Utc>>,
    ) -> Place {
        let now = Utc::now();
        place(
            EventId::generate(),
            Entry {
                joined_at_ms: now.timestamp_millis(),
                number: n,
            },
            Progress {
                frozen: n.is_some(),
                joined: 1000,
                admitted,
                sold_out,
            },
            admitted_at,
            now,
            RATE,
            ADMISSION,
        )
    }

    #[test]
    fn a_place_is_its_number_minus_the_admitted() {
        let p = at(None, 0, false, None);
        assert_eq!(
            (p.status, p.position, p.eta_seconds),
            (QueueStatus::Waiting, None, None)
        );
        let p = at(Some(130), 30, false, None);
        assert_eq!(
            (p.status, p.position, p.eta_seconds),
            (QueueStatus::Waiting, Some(100), Some(2))
        );
        let p = at(Some(130), 30, true, None);
        assert_eq!(p.status, QueueStatus::Expired);
        let p = at(Some(30), 30, true, Some(Utc::now()));
        assert_eq!(
            p.status,
            QueueStatus::Admitted,
            "sold out does not end an admission"
        );
        let p = at(
            Some(3),
            30,
            false,
            Some(Utc::now() - chrono::Duration::seconds(601)),
        );
        assert_eq!(p.status, QueueStatus::Expired);
    }

    #[test]
    fn pushes_wait_for_a_move_of_one_percent_and_ten_places() {
        assert!(!moved_enough(20_000, 19_801));
        assert!(moved_enough(20_000, 19_800));
        assert!(!moved_enough(50, 41));
        assert!(moved_enough(50, 40));
    }
}
