//! Checking credentials against the tenancy: who is calling, and where.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::config::Tenancy;
use super::credentials::{Credentials, CredentialsError};

/// An authenticated caller: the key's user, and the organization/project/world the request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub service: bool,
    pub organization: String,
    pub project: Option<String>,
    pub world: Option<String>,
}

/// Why a request was refused before any work; rendered as an HTTP status with `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    BadCredentials(#[from] CredentialsError),
    #[error("missing x-api-key")]
    MissingKey,
    #[error("unknown API key")]
    UnknownKey,
    #[error("missing x-m2-organization-id")]
    MissingOrganization,
    #[error("x-m2-world-id requires x-m2-project-id")]
    WorldWithoutProject,
    #[error("the API key does not belong to organization {0}")]
    ForeignOrganization(String),
    #[error("project {0} does not exist in this organization")]
    UnknownProject(String),
    #[error("world {0} does not exist in this project")]
    UnknownWorld(String),
}

impl AuthError {
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::BadCredentials(_) | AuthError::WorldWithoutProject => {
                StatusCode::BAD_REQUEST
            }
            AuthError::MissingKey | AuthError::UnknownKey | AuthError::MissingOrganization => {
                StatusCode::UNAUTHORIZED
            }
            AuthError::ForeignOrganization(_)
            | AuthError::UnknownProject(_)
            | AuthError::UnknownWorld(_) => StatusCode::FORBIDDEN,
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        (self.status(), Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// Checks, in order: a key is given and known (401), an organization is given (401), a world comes
/// with a project (400), the key belongs to that organization (403), the project and world exist
/// there (403).
pub fn authenticate(tenancy: &Tenancy, creds: Credentials) -> Result<Identity, AuthError> {
    let key = creds.api_key.ok_or(AuthError::MissingKey)?;
    let account = tenancy.account(&key).ok_or(AuthError::UnknownKey)?;
    let organization = creds.organization.ok_or(AuthError::MissingOrganization)?;
    if creds.world.is_some() && creds.project.is_none() {
        return Err(AuthError::WorldWithoutProject);
    }
    if account.organization != organization || !tenancy.has_organization(&organization) {
        return Err(AuthError::ForeignOrganization(organization));
    }
    if let Some(project) = &creds.project {
        if !tenancy.has_project(&organization, project) {
            return Err(AuthError::UnknownProject(project.clone()));
        }
        if let Some(world) = &creds.world {
            if !tenancy.has_world(&organization, project, world) {
                return Err(AuthError::UnknownWorld(world.clone()));
            }
        }
    }
    Ok(Identity {
        user: account.user.clone(),
        service: account.service,
        organization,
        project: creds.project,
        world: creds.world,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::m2::Config;

    fn check(key: &str, org: &str, project: &str, world: &str) -> Result<Identity, AuthError> {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        authenticate(
            &Tenancy::new(&Config::default()),
            Credentials {
                api_key: some(key),
                organization: some(org),
                project: some(project),
                world: some(world),
            },
        )
    }

    #[test]
    fn the_demo_key_in_its_world() {
        let id = check("m2-demo-key", "testOrg", "testProj", "testWorld").expect("accepted");
        assert_eq!(id.user, "demoUser");
        assert_eq!(id.world.as_deref(), Some("testWorld"));
    }

    #[test]
    fn refusals_and_their_statuses() {
        let status = |r: Result<Identity, AuthError>| r.map_err(|e| e.status().as_u16()).err();
        assert_eq!(status(check("", "testOrg", "", "")), Some(401));
        assert_eq!(status(check("nope", "testOrg", "", "")), Some(401));
        assert_eq!(status(check("m2-demo-key", "", "", "")), Some(401));
        assert_eq!(
            status(check("m2-demo-key", "testOrg", "", "testWorld")),
            Some(400)
        );
        assert_eq!(status(check("m2-demo-key", "otherOrg", "", "")), Some(403));
        assert_eq!(status(check("m2-other-key", "testOrg", "", "")), Some(403));
        assert_eq!(
            status(check("m2-demo-key", "testOrg", "otherProj", "")),
            Some(403)
        );
        assert_eq!(
            status(check("m2-demo-key", "testOrg", "testProj", "otherWorld")),
            Some(403)
        );
    }
}
