//! The four garbage streams at once against one server.

use super::directus::Directus;
use super::gamevault::GameVault;
use super::m2::M2;
use super::profile::{garbage_stream, Profile, Tally};
use super::skapi::Skapi;
use super::support::{assert_running, start, stop};

/// Frames per profile.
const FRAMES: usize = 300;

fn assert_exercised(name: &str, tally: &Tally) {
    assert!(
        tally.errors > 0 && tally.closes > 0 && tally.answered > 0,
        "{name}: the stream met too few kinds of answer: {tally:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_their_documented_answers_and_nothing_stored_is_lost() {
    let mut server = start().await;
    let addr = server.local_addr();
    let mut m2 = M2::new(addr);
    let mut directus = Directus::new(addr);
    let mut skapi = Skapi::new(addr).await;
    let mut gamevault = GameVault::new(addr);
    m2.store().await;
    directus.store().await;
    skapi.store().await;
    gamevault.store().await;

    let (m2_tally, directus_tally, skapi_tally, gamevault_tally) = tokio::join!(
        garbage_stream(&m2, 0x6d32, FRAMES),
        garbage_stream(&directus, 0xd1ec, FRAMES),
        garbage_stream(&skapi, 0x5ca1, FRAMES),
        garbage_stream(&gamevault, 0x6a3e, FRAMES),
    );
    for (name, tally) in [
        ("m2", &m2_tally),
        ("directus", &directus_tally),
        ("skapi", &skapi_tally),
        ("gamevault", &gamevault_tally),
    ] {
        assert_exercised(name, tally);
    }

    assert_running(&mut server);
    m2.check_stored().await;
    directus.check_stored().await;
    skapi.check_stored().await;
    gamevault.check_stored().await;
    stop(server).await;
}
