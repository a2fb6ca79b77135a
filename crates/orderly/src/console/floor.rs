//! The warehouse floor: per location, the waves (open first, paged) with a form to start
//! one, and today's shipments with their labels (today in the business calendar's
//! zone); one wave's pick list, in bin order and printable, with a form per fulfillment
//! order to confirm what was picked (a short pick is a smaller number). Starting a wave
//! and confirming a pick are the API's `POST /waves` and `…/pick`.

use crate::app::AppState;
use crate::app::auth::{Permission, allows};
use crate::console::error::ConsoleError;
use crate::console::page::{Layout, Pager, cursor, render, when, zone_of};
use crate::console::session::{Posted, Viewer, done};
use crate::fulfillment::commands::NewWave;
use crate::http::extract::{page_cursor, time_cursor_key};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use orderly_domain::fulfillment::FulfillmentState;
use orderly_domain::order::{FieldIssue, OrderCommand};
use orderly_domain::values::Id;
use orderly_store::WaveFilter;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Waves and shipments per page.
const PER_PAGE: u32 = 30;

type Answered = Result<Response, ConsoleError>;

pub struct Tab {
    pub label: String,
    pub href: String,
    pub current: bool,
}

pub struct WaveRow {
    pub id: String,
    pub href: String,
    pub created: String,
    pub members: u32,
    pub to_pick: u32,
}

pub struct ShippedLine {
    pub order_number: String,
    pub order_href: String,
    pub carrier: String,
    pub tracking: String,
    pub status: String,
    pub shipped: String,
    pub label_href: String,
}

#[derive(Template)]
#[template(path = "console/floor.html")]
pub struct FloorPage {
    pub layout: Layout,
    pub form_key: String,
    pub location: String,
    pub locations: Vec<Tab>,
    pub waves: Vec<WaveRow>,
    pub waves_pager: Pager,
    pub shipped: Vec<ShippedLine>,
    pub shipped_pager: Pager,
    pub today: String,
    pub fulfill: bool,
}

#[derive(Debug, Deserialize)]
pub struct FloorQuery {
    location: Option<String>,
    waves_before: Option<String>,
    shipped_after: Option<String>,
}

pub async fn floor(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<FloorQuery>,
) -> Answered {
    let actor = viewer.actor();
    let locations = &app.config.locations;
    let location = q
        .location
        .filter(|l| locations.iter().any(|c| &c.id == l))
        .or_else(|| locations.first().map(|l| l.id.clone()))
        .unwrap_or_default();
    let zone = zone_of(&app, &viewer);
    let mut waves = app
        .waves(
            &actor,
            WaveFilter {
                location_id: Some(location.clone()),
                open: None,
                created_from: None,
                created_to: None,
                before_id: q.waves_before.clone().filter(|w| w.starts_with("wav_")),
                limit: PER_PAGE + 1,
            },
        )
        .await?;
    let more_waves = waves.len() > PER_PAGE as usize;
    waves.truncate(PER_PAGE as usize);
    let base = format!("/console/floor?location={location}");
    let waves_pager = Pager {
        first: q.waves_before.is_some().then(|| base.clone()),
        next: more_waves
            .then(|| {
                waves
                    .last()
                    .map(|w| format!("{base}&waves_before={}", w.id))
            })
            .flatten(),
    };
    let day = app.now().to_zoned(zone.clone());
    let start = day
        .start_of_day()
        .map_err(|e| crate::app::error::AppError::Internal(format!("start of day: {e}")))?;
    let end = start
        .tomorrow()
        .map_err(|e| crate::app::error::AppError::Internal(format!("next day: {e}")))?;
    let mut shipped = app
        .shipped_from(
            &actor,
            location.clone(),
            (start.timestamp(), end.timestamp()),
            cursor(q.shipped_after.as_deref())?,
            PER_PAGE + 1,
        )
        .await?;
    let next = page_cursor(&mut shipped, PER_PAGE, |s| {
        time_cursor_key(s.shipped_at, &s.id)
    });
    let page = FloorPage {
        layout: Layout::new(&viewer, "Warehouse floor", "/console/floor"),
        form_key: app.new_id("frm"),
        locations: locations
            .iter()
            .map(|l| Tab {
                label: l.id.clone(),
                href: format!("/console/floor?location={}", l.id),
                current: l.id == location,
            })
            .collect(),
        waves: waves
            .iter()
            .map(|w| WaveRow {
                id: w.id.clone(),
                href: format!("/console/waves/{}", w.id),
                created: when(w.created_at, &zone),
                members: w.members,
                to_pick: w.to_pick,
            })
            .collect(),
        waves_pager,
        shipped: shipped
            .iter()
            .map(|s| ShippedLine {
                order_number: s.order_number.clone(),
                order_href: format!("/console/orders/{}", s.order_id),
                carrier: s.carrier.clone(),
                tracking: s.tracking_number.clone(),
                status: s.status.replace('_', " "),
                shipped: when(s.shipped_at, &zone),
                label_href: format!("/console/shipments/{}/label.pdf", s.id),
            })
            .collect(),
        shipped_pager: Pager {
            first: q.shipped_after.is_some().then(|| base.clone()),
            next: next.map(|c| format!("{base}&shipped_after={c}")),
        },
        today: start.strftime("%A %Y-%m-%d").to_string(),
        fulfill: allows(viewer.user.role, Permission::Fulfill),
        location,
    };
    Ok(render(Some(&viewer), StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct WaveForm {
    #[serde(default)]
    location_id: String,
    max_orders: Option<String>,
}

pub async fn create_wave(State(app): State<AppState>, posted: Posted<WaveForm>) -> Answered {
    let form = &posted.form;
    let max_orders = match form.max_orders.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => Some(n.parse::<u32>().map_err(|_| {
            crate::app::error::AppError::Validation(vec![FieldIssue::new(
                "max_orders",
                "out_of_range",
                "a whole number of orders",
            )])
        })?),
    };
    let req = NewWave {
        location_id: form.location_id.trim().to_owned(),
        released_before: None,
        max_orders,
        max_lines: None,
        service: None,
    };
    let id = app
        .create_wave(&posted.origin(), posted.idem.clone(), req)
        .await?;
    Ok(done(
        &posted.viewer,
        &format!("/console/waves/{id}"),
        &format!("Wave {id} started."),
    ))
}

pub struct PickLine {
    pub bin: String,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub destinations: String,
}

pub struct MemberLine {
    pub line_no: u32,
    pub sku: String,
    pub quantity: u32,
}

pub struct Member {
    pub id: String,
    pub order_number: String,
    pub order_href: String,
    pub state: String,
    pub to_pick: bool,
    pub lines: Vec<MemberLine>,
}

#[derive(Template)]
#[template(path = "console/wave.html")]
pub struct WavePage {
    pub layout: Layout,
    pub form_key: String,
    pub id: String,
    pub location: String,
    pub created: String,
    pub lines: Vec<PickLine>,
    pub members: Vec<Member>,
    pub fulfill: bool,
}

pub async fn wave_page(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Answered {
    let list = app.pick_list(&viewer.actor(), id).await?;
    let zone = zone_of(&app, &viewer);
    let mut by_sku: BTreeMap<(String, String), PickLine> = BTreeMap::new();
    let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (order, fo) in list.members.to_pick() {
        for l in fo.lines.iter().filter(|l| l.quantity > 0) {
            let bin = list.bins.get(l.sku.as_str()).cloned().flatten();
            let key = (bin.clone().unwrap_or_else(|| "~".into()), l.sku.to_string());
            let line = by_sku.entry(key).or_insert_with(|| PickLine {
                bin: bin.unwrap_or_else(|| "-".into()),
                sku: l.sku.to_string(),
                name: crate::console::page::line_name(order, l.line_no),
                quantity: 0,
                destinations: String::new(),
            });
            line.quantity += l.quantity;
            sources
                .entry(l.sku.to_string())
                .or_default()
                .push(format!("{} x{}", order.number, l.quantity));
        }
    }
    let lines = by_sku
        .into_values()
        .map(|mut l| {
            l.destinations = sources
                .get(&l.sku)
                .map(|d| d.join(", "))
                .unwrap_or_default();
            l
        })
        .collect();
    let wave = &list.members.wave;
    let members = wave
        .members
        .iter()
        .filter_map(|(fid, oid)| {
            let order = list.members.orders.get(oid)?;
            let fo = order
                .fulfillment_orders
                .iter()
                .find(|f| f.id.as_str() == fid)?;
            Some(Member {
                id: fid.clone(),
                order_number: order.number.clone(),
                order_href: format!("/console/orders/{}", order.id),
                state: fo.state.as_str().to_owned(),
                to_pick: fo.state == FulfillmentState::Released,
                lines: fo
                    .lines
                    .iter()
                    .filter(|l| l.quantity > 0)
                    .map(|l| MemberLine {
                        line_no: l.line_no,
                        sku: l.sku.to_string(),
                        quantity: l.quantity,
                    })
                    .collect(),
            })
        })
        .collect();
    let page = WavePage {
        layout: Layout::new(&viewer, format!("Wave {}", wave.id), "/console/floor"),
        form_key: app.new_id("frm"),
        id: wave.id.clone(),
        location: wave.location_id.clone(),
        created: when(wave.created_at, &zone),
        lines,
        members,
        fulfill: allows(viewer.user.role, Permission::Fulfill),
    };
    Ok(render(Some(&viewer), StatusCode::OK, &page))
}

/// Confirms the pick of fulfillment order `id`: `picked_<line>` per line, then back to
/// the wave (`wave`) or the pack station.
pub async fn pick(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<BTreeMap<String, String>>,
) -> Answered {
    let bad = |field: String| {
        crate::app::error::AppError::Validation(vec![FieldIssue::new(
            field,
            "out_of_range",
            "picked is a whole number, 0-1,000,000",
        )])
    };
    let mut picked = Vec::new();
    for (k, v) in &posted.form {
        if let Some(line) = k.strip_prefix("picked_") {
            let line_no: u32 = line.parse().map_err(|_| bad(k.clone()))?;
            let n: u32 = v
                .trim()
                .parse()
                .ok()
                .filter(|n| *n <= 1_000_000)
                .ok_or_else(|| bad(k.clone()))?;
            picked.push((line_no, n));
        }
    }
    let order_id = crate::fulfillment::queries::order_of_fulfillment(&id)?;
    let fulfillment_id = Id::new(id.clone());
    app.order_command(
        order_id,
        posted.idem.clone(),
        posted.origin(),
        None,
        move |_| {
            Ok(OrderCommand::Pick {
                fulfillment_id: fulfillment_id.clone(),
                picked: picked.clone(),
            })
        },
    )
    .await?;
    let back = match posted.form.get("wave") {
        Some(w)
            if w.starts_with("wav_")
                && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            format!("/console/waves/{w}")
        }
        _ => format!("/console/pack?fo={id}"),
    };
    Ok(done(
        &posted.viewer,
        &back,
        &format!("Pick of {id} confirmed."),
    ))
}
