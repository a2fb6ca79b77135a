//! `orderly serve --demo`: a working system in one command. On an empty database it
//! creates a realistic catalog (50 SKUs), stock in three warehouses and a handful of
//! orders through the same commands the API uses; every start prints a fresh admin key.

mod deliver;
mod returns;

use crate::app::auth::KeySpec;
use crate::app::error::AppError;
use crate::app::{App, AppState, Origin, Outcome};
use crate::catalog::commands::AdjustInput;
use crate::orders::commands::{PaymentChoice, PlaceInput};
use anyhow::Context;
use orderly_domain::actor::{Actor, Role};
use orderly_domain::inventory::Adjustment;
use orderly_domain::order::{Address, CancelReason, Customer, Delivery, Order};
use orderly_domain::payment::PaymentMethod;
use orderly_domain::values::{CountryCode, Currency, Email, Gtin, Sku};
use orderly_store::NewProduct;
use std::collections::HashMap;
use std::net::SocketAddr;

/// (SKU, name, price in cents, grams, category).
pub fn catalog() -> Vec<(String, String, i64, i64, &'static str)> {
    let mut out = Vec::new();
    for (color, cname) in [("BLK", "Black"), ("WHT", "White"), ("NVY", "Navy")] {
        for size in ["S", "M", "L", "XL"] {
            out.push((
                format!("TEE-{color}-{size}"),
                format!("Classic Tee {cname} {size}"),
                1999,
                180,
                "apparel",
            ));
        }
    }
    for (color, cname) in [("GRY", "Grey"), ("BLK", "Black")] {
        for size in ["S", "M", "L", "XL"] {
            out.push((
                format!("HOOD-{color}-{size}"),
                format!("Zip Hoodie {cname} {size}"),
                5499,
                650,
                "apparel",
            ));
        }
    }
    for (code, name, price) in [
        ("CLASSIC", "Classic Mug", 1299),
        ("TRAVEL", "Travel Mug", 2499),
        ("ESPRESSO", "Espresso Cup", 999),
    ] {
        out.push((
            format!("MUG-{code}"),
            name.to_owned(),
            price,
            400,
            "kitchen",
        ));
    }
    for (code, name) in [("RED", "Red"), ("BLU", "Blue"), ("BLK", "Black")] {
        out.push((
            format!("CAP-{code}"),
            format!("Baseball Cap {name}"),
            2299,
            120,
            "accessories",
        ));
    }
    for style in ["CREW", "ANKLE"] {
        for size in ["S", "M", "L"] {
            out.push((
                format!("SOCK-{style}-{size}"),
                format!("Socks {style} {size}"),
                899,
                60,
                "apparel",
            ));
        }
    }
    for n in 1..=6 {
        out.push((
            format!("POSTER-{n:02}"),
            format!("Art Poster No. {n}"),
            1500 + 100 * n,
            200,
            "decor",
        ));
    }
    for (fmt, rule) in [("A5", "DOT"), ("A5", "LINE"), ("A4", "DOT"), ("A4", "LINE")] {
        out.push((
            format!("NOTE-{fmt}-{rule}"),
            format!("Notebook {fmt} {rule}"),
            1199,
            250,
            "stationery",
        ));
    }
    for ml in [500, 750, 1000] {
        out.push((
            format!("BOTTLE-{ml}"),
            format!("Steel Bottle {ml} ml"),
            1999 + ml / 50,
            300,
            "kitchen",
        ));
    }
    for (code, name) in [("NAT", "Natural"), ("BLK", "Black")] {
        out.push((
            format!("TOTE-{code}"),
            format!("Canvas Tote {name}"),
            1599,
            220,
            "accessories",
        ));
    }
    for n in 1..=3 {
        out.push((
            format!("STICKER-PACK{n}"),
            format!("Sticker Pack {n}"),
            499,
            20,
            "stationery",
        ));
    }
    out
}

const WAREHOUSES: [&str; 3] = ["wh-east", "wh-central", "wh-west"];

/// Units of catalog item `i` at warehouse `w`: varied, with some SKUs scarce or stocked
/// in one place only so that sourcing has real choices to make.
fn stock_units(i: usize, w: usize) -> i64 {
    let seed = (i * 7 + w * 13) % 17;
    match (i % 10, w) {
        (3, 0) | (3, 2) => 0,        // central-only SKUs
        (7, _) => (seed % 3) as i64, // scarce SKUs
        _ => 10 + (seed as i64) * 6,
    }
}

fn address(
    name: &str,
    line1: &str,
    city: &str,
    region: &str,
    postal: &str,
) -> anyhow::Result<Address> {
    Ok(Address {
        name: name.into(),
        line1: line1.into(),
        line2: None,
        city: city.into(),
        region: Some(region.into()),
        postal_code: postal.into(),
        country: CountryCode::parse("US")?,
    })
}

/// Seeds an empty database, then creates and prints an admin key and a curl hint.
pub async fn prepare(app: &AppState, addr: SocketAddr) -> anyhow::Result<()> {
    let empty = app
        .products(&Actor::system("demo"), None, 1)
        .await
        .map_err(explain)?
        .is_empty();
    if empty {
        seed(app).await.context("seeding the demo data failed")?;
    }
    let key = app
        .create_key(
            &Actor::system("demo"),
            KeySpec::unbound(Role::Admin, "demo admin"),
        )
        .await
        .map_err(explain)?
        .secret;
    let users = demo_users(app).await?;
    let walkthrough = match returns::walkthrough_order(app).await {
        Some((number, email)) => format!(
            "Returns walkthrough: {number} ({email}) is delivered, nothing returned yet;\n  \
             GET /returns?state=… shows a demo return in every other state.\n"
        ),
        None => String::new(),
    };
    println!(
        "\nOrderly demo is running at http://{addr}\n\
         Admin API key (shown once): {key}\n\n\
         Console: http://{addr}/console, one user per role (passwords shown once):\n{users}\n\
         Try:\n  export ORDERLY_KEY={key}\n  \
         curl -s -H \"Authorization: Bearer $ORDERLY_KEY\" http://{addr}/api/v1/orders\n\n\
         {walkthrough}"
    );
    Ok(())
}

/// One console user per role, named after it (`support`, `warehouse`, …), each with a
/// fresh password: created on the first start, given a new password on later ones so
/// the printed passwords always work. Returns the lines to print.
async fn demo_users(app: &AppState) -> anyhow::Result<String> {
    use crate::users::commands::{NewUser, USER_ROLES};
    let demo = Actor::system("demo");
    let mut lines = String::new();
    for role in USER_ROLES {
        let new = NewUser {
            username: role.as_str().to_owned(),
            display_name: format!("Demo {}", role.as_str()),
            role,
            password: None,
            time_zone: None,
        };
        let made = match app.create_user(&demo, new).await {
            Ok(made) => made,
            Err(AppError::Conflict { .. }) => app
                .reset_password(&demo, role.as_str(), None)
                .await
                .map_err(explain)?,
            Err(e) => return Err(explain(e)),
        };
        lines.push_str(&format!("  {:<11} {}\n", made.user.username, made.password));
    }
    Ok(lines)
}

/// An API error with its internal cause, for the operator starting the demo (clients
/// never see causes; the person at the console should).
fn explain(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}: {e:?}")
}

struct DemoOrder {
    channel: &'static str,
    email: &'static str,
    name: &'static str,
    /// line1, city, region, postal code.
    street: [&'static str; 4],
    lines: &'static [(&'static str, u32)],
    /// Click and collect at this location.
    pickup: Option<&'static str>,
}

/// Creates the demo catalog with `units(item, warehouse)` units of each item in each
/// warehouse (none where it answers 0); returns every (SKU, price).
pub async fn create_catalog(
    app: &AppState,
    origin: &Origin,
    units: impl Fn(usize, usize) -> i64,
) -> anyhow::Result<Vec<(String, i64)>> {
    let mut skus = Vec::new();
    for (i, (sku, name, price, grams, category)) in catalog().into_iter().enumerate() {
        let product = NewProduct {
            sku: sku.clone(),
            name,
            price_minor: price,
            currency: "USD".into(),
            weight_grams: grams,
            category: Some(category.into()),
            returnable: category != "decor",
            active: true,
            gtin: Some(demo_gtin(i)),
        };
        app.create_product(&origin.actor, product, None, |_| Vec::new())
            .await
            .map_err(explain)?;
        for (w, location) in WAREHOUSES.iter().enumerate() {
            let quantity = units(i, w);
            if quantity > 0 {
                let input = AdjustInput {
                    sku: sku.clone(),
                    location_id: (*location).into(),
                    adjustment: Adjustment::Receipt { quantity },
                    bin: Some(format!(
                        "{}-{:02}-{}",
                        ["A", "B", "C"][w],
                        i % 40 + 1,
                        i % 4 + 1
                    )),
                    note: Some("opening stock".into()),
                };
                app.adjust_stock(input, None, origin.clone(), |_| Vec::new())
                    .await
                    .map_err(explain)?;
            }
        }
        skus.push((sku, price));
    }
    Ok(skus)
}

/// The `i`th demo item's EAN-13, under GS1's example company prefix 0614141 (the
/// check digit is whichever of 0-9 makes it valid).
fn demo_gtin(i: usize) -> String {
    let body = format!("0614141{:05}", i + 1);
    (0..10)
        .map(|d| format!("{body}{d}"))
        .find_map(|g| Gtin::parse(&g).ok())
        .map(|g| g.as_str().to_owned())
        .unwrap_or(body)
}

async fn seed(app: &AppState) -> anyhow::Result<()> {
    let origin = Origin {
        actor: Actor::system("demo"),
        correlation_id: "demo-seed".into(),
    };
    let prices: HashMap<String, i64> = create_catalog(app, &origin, stock_units)
        .await?
        .into_iter()
        .collect();
    let orders = [
        DemoOrder {
            channel: "web",
            email: "ana@example.com",
            name: "Ana Diaz",
            street: ["1 Main St", "Austin", "TX", "78701"],
            lines: &[("TEE-BLK-M", 2), ("MUG-CLASSIC", 1)],
            pickup: None,
        },
        DemoOrder {
            channel: "web",
            email: "ben@example.com",
            name: "Ben Okafor",
            street: ["22 W 34th St", "New York", "NY", "10001"],
            lines: &[("HOOD-GRY-L", 1)],
            pickup: None,
        },
        DemoOrder {
            channel: "web",
            email: "chloe@example.com",
            name: "Chloe Park",
            street: ["500 Market St", "San Francisco", "CA", "94105"],
            lines: &[("CAP-BLU", 1), ("POSTER-02", 2), ("SOCK-CREW-M", 3)],
            pickup: None,
        },
        DemoOrder {
            channel: "marketplace",
            email: "dev@example.com",
            name: "Dev Patel",
            street: ["9 Lake Shore Dr", "Chicago", "IL", "60611"],
            lines: &[("NOTE-A5-DOT", 2), ("TEE-NVY-S", 40)],
            pickup: None,
        },
        DemoOrder {
            channel: "marketplace",
            email: "eve@example.com",
            name: "Eve Martin",
            street: ["77 Peachtree St", "Atlanta", "GA", "30303"],
            lines: &[("BOTTLE-750", 1), ("TOTE-NAT", 1)],
            pickup: None,
        },
        DemoOrder {
            channel: "marketplace",
            email: "fay@example.com",
            name: "Fay Nguyen",
            street: ["1200 Elm St", "Dallas", "TX", "75270"],
            lines: &[("MUG-TRAVEL", 2)],
            pickup: Some("wh-central"),
        },
        DemoOrder {
            channel: "web",
            email: "ana@example.com",
            name: "Ana Diaz",
            street: ["1 Main St", "Austin", "TX", "78701"],
            lines: &[("STICKER-PACK2", 5)],
            pickup: None,
        },
    ];
    let mut last_id = None;
    for (n, o) in orders.iter().enumerate() {
        let order = place(
            app,
            &origin,
            &prices,
            o,
            format!("DEMO-{}", 1001 + n),
            demo_payment(n),
        )
        .await?;
        last_id = Some(order.id.to_string());
    }
    if let Some(id) = last_id {
        cancel(app, &origin, id).await?;
    }
    returns::seed(app, &origin, &prices).await?;
    tracing::info!("demo catalog, stock, orders and returns created");
    Ok(())
}

/// Places demo order `o` through the same command the API runs, priced from the catalog.
async fn place(
    app: &App,
    origin: &Origin,
    prices: &HashMap<String, i64>,
    o: &DemoOrder,
    external_id: String,
    payment: PaymentChoice,
) -> anyhow::Result<Order> {
    let [line1, city, region, postal] = o.street;
    let ship = address(o.name, line1, city, region, postal)?;
    let input = PlaceInput {
        channel: o.channel.into(),
        external_id: Some(external_id),
        currency: Currency::parse("USD")?,
        customer: Customer {
            email: Email::parse(o.email)?,
            name: Some(o.name.into()),
            phone: None,
        },
        billing_address: ship.clone(),
        shipping_address: ship,
        lines: o
            .lines
            .iter()
            .map(|(sku, q)| Ok((Sku::parse(sku)?, *q, prices.get(*sku).copied().unwrap_or(0))))
            .collect::<anyhow::Result<_>>()?,
        shipping_amount: 500,
        tax_amount: 0,
        discount_amount: 0,
        declared_total: None,
        payment: Some(payment),
        delivery: o.pickup.map(|at| Delivery {
            service: None,
            deliver_by: None,
            pickup_location: Some(orderly_domain::values::Id::new(at)),
        }),
    };
    match app
        .place_order(input, None, origin.clone())
        .await
        .map_err(explain)?
    {
        Outcome::Order(_, order) => Ok(*order),
        Outcome::Body(..) => anyhow::bail!("placing a demo order answered without the order"),
    }
}

/// Mostly cards that approve, plus one bank transfer awaiting funds, one cash on delivery
/// and one declined card, so the demo shows each payment path.
fn demo_payment(n: usize) -> PaymentChoice {
    let (method, provider, token) = match n {
        1 => (PaymentMethod::BankTransfer, "manual", None),
        2 => (PaymentMethod::CashOnDelivery, "manual", None),
        3 => (PaymentMethod::Card, "simulator", Some("tok_declined")),
        _ => (PaymentMethod::Card, "simulator", Some("tok_visa")),
    };
    PaymentChoice {
        method,
        provider: provider.to_owned(),
        // The simulator's approving test card ends in 4242, as Stripe's does.
        last4: token
            .filter(|t| *t == "tok_visa")
            .map(|_| "4242".to_owned()),
        token: token.map(str::to_owned),
        fingerprint: None,
    }
}

/// Cancels order `id` as support would; the warehouse it was released to accepts.
async fn cancel(app: &App, origin: &Origin, id: String) -> anyhow::Result<()> {
    use crate::edits::commands::EditAction;
    let author = "support (demo)".to_owned();
    let action = EditAction::Cancel {
        lines: None,
        reason: CancelReason::CustomerRequest,
        note: Some("ordered twice by mistake".into()),
    };
    let outcome = app
        .edit_order(
            id.clone(),
            action,
            author.clone(),
            None,
            None,
            origin.clone(),
        )
        .await
        .map_err(explain)?;
    let crate::app::Outcome::Order(_, order) = outcome else {
        return Ok(());
    };
    let waiting = order
        .pending_cancellation()
        .map(|r| r.waiting.clone())
        .unwrap_or_default();
    for fulfillment_id in waiting {
        let answer = EditAction::AnswerCancellation {
            fulfillment_id,
            rejected: None,
        };
        app.edit_order(
            id.clone(),
            answer,
            author.clone(),
            None,
            None,
            origin.clone(),
        )
        .await
        .map_err(explain)?;
    }
    Ok(())
}
