//! One client per profile sends 5 000 valid frames without reading its answers.

use super::directus::Directus;
use super::gamevault::GameVault;
use super::m2::M2;
use super::profile::{flood, Profile};
use super::skapi::Skapi;
use super::support::{assert_running, start, stop};

const FRAMES: usize = 5_000;

async fn check(profile: &mut impl Profile) {
    profile.store().await;
    flood(profile, FRAMES).await;
    profile.check_stored().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m2_keeps_up_with_a_client_that_does_not_read() {
    let mut server = start().await;
    check(&mut M2::new(server.local_addr())).await;
    assert_running(&mut server);
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directus_keeps_up_with_a_client_that_does_not_read() {
    let mut server = start().await;
    check(&mut Directus::new(server.local_addr())).await;
    assert_running(&mut server);
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skapi_keeps_up_with_a_client_that_does_not_read() {
    let mut server = start().await;
    check(&mut Skapi::new(server.local_addr()).await).await;
    assert_running(&mut server);
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gamevault_keeps_up_with_a_client_that_does_not_read() {
    let mut server = start().await;
    check(&mut GameVault::new(server.local_addr())).await;
    assert_running(&mut server);
    stop(server).await;
}
