use std::time::Duration;

use futures_util::future::join_all;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_returns_a_session_token_and_cookie() {
    let (_env, app) = spawn().await;
    let email = unique_email();
    let res = app
        .post(
            SIGN_UP,
            json!({ "email": email.to_uppercase(), "password": PASSWORD }),
            None,
        )
        .await;
    let cookie = res
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = res.json().await.unwrap();
    let session = Session::from_payload(&body["data"]["signUp"]).expect("payload");
    assert_eq!(session.email, email, "stored lower-case");
    assert!(
        cookie.starts_with(&format!("session={}", session.token)),
        "{cookie}"
    );
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "COOKIE_SECURE defaults to false: {cookie}"
    );

    let me = app.me(&session.token).await;
    assert_eq!(me["email"], email.as_str());
    assert_eq!(me["id"], session.user_id.as_str());

    // The cookie alone authenticates too.
    let body: Value = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("cookie", format!("session={}", session.token))
        .json(&json!({ "query": "{ me { email } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["me"]["email"], email.as_str());

    let claims = claims_of(&session.token);
    for claim in ["sub", "jti", "iat", "exp"] {
        assert!(claims.get(claim).is_some(), "missing {claim}: {claims}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_secure_when_configured() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("COOKIE_SECURE", "true")]).await;
    let res = app
        .post(
            SIGN_UP,
            json!({ "email": unique_email(), "password": PASSWORD }),
            None,
        )
        .await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_with_a_taken_email_in_any_case_is_a_conflict() {
    let (_env, app) = spawn().await;
    let email = unique_email();
    app.sign_up(&email).await;
    let body = app
        .gql(
            SIGN_UP,
            json!({ "email": format!("  {}", email.to_uppercase()), "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
    assert!(body["data"].is_null(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_with_bad_input_names_every_field_and_creates_nothing() {
    let (_env, app) = spawn().await;
    let body = app
        .gql(
            SIGN_UP,
            json!({ "email": "not-an-email", "password": "short" }),
            None,
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(error_fields(&body), ["email", "password"]);

    let email = unique_email();
    for (password, ok) in [
        ("1234567".to_owned(), false),
        ("12345678".to_owned(), true),
        ("x".repeat(129), false),
    ] {
        let body = app
            .gql(
                SIGN_UP,
                json!({ "email": email, "password": password }),
                None,
            )
            .await;
        if ok {
            assert!(body["errors"].is_null(), "{body}");
        } else {
            assert_eq!(error_fields(&body), ["password"], "{body}");
        }
    }
    // The refused attempts left no account behind: only the valid password signs in.
    let body = app.sign_in(&email, "1234567").await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    let body = app.sign_in(&email, "12345678").await;
    assert!(body["data"]["signIn"]["token"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ups_of_one_email_have_exactly_one_winner() {
    let (_env, app) = spawn().await;
    let email = unique_email();
    let attempts = (0..8).map(|i| {
        let email = if i % 2 == 0 {
            email.clone()
        } else {
            email.to_uppercase()
        };
        let app = &app;
        async move {
            app.gql(
                SIGN_UP,
                json!({ "email": email, "password": PASSWORD }),
                None,
            )
            .await
        }
    });
    let results = join_all(attempts).await;
    let wins = results
        .iter()
        .filter(|b| b["data"]["signUp"]["token"].is_string())
        .count();
    let conflicts = results
        .iter()
        .filter(|b| error_code(b) == Some("CONFLICT"))
        .count();
    assert_eq!((wins, conflicts), (1, 7), "{results:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_opens_a_new_session_with_any_case_of_email() {
    let (_env, app) = spawn().await;
    let email = unique_email();
    let first = app.sign_up(&email).await;
    let body = app.sign_in(&email.to_uppercase(), PASSWORD).await;
    let second = Session::from_payload(&body["data"]["signIn"]).expect("signed in");
    assert_eq!(second.user_id, first.user_id);
    assert_ne!(second.token, first.token);
    assert_eq!(app.me(&second.token).await["email"], email.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_email_and_wrong_password_get_identical_errors() {
    let (_env, app) = spawn().await;
    let email = unique_email();
    app.sign_up(&email).await;
    let wrong_password = app.sign_in(&email, "not the password").await;
    let unknown_email = app.sign_in(&unique_email(), PASSWORD).await;
    assert_eq!(error_code(&wrong_password), Some("UNAUTHENTICATED"));
    assert_eq!(
        wrong_password["errors"][0]["message"],
        unknown_email["errors"][0]["message"]
    );
    assert_eq!(
        wrong_password["errors"][0]["extensions"],
        unknown_email["errors"][0]["extensions"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_is_null_when_signed_out() {
    let (_env, app) = spawn().await;
    let body = app.gql("{ me { id } }", json!({}), None).await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(body["data"]["me"].is_null(), "{body}");
}

/// Asserts that `token` is refused: `me` is null and an action that needs a session is refused.
async fn assert_refused(app: &TestApp, token: &str) {
    assert!(app.me(token).await.is_null(), "token accepted by me");
    let body = app
        .gql(
            CHANGE_PASSWORD,
            json!({ "current": PASSWORD, "new": "another password" }),
            Some(token),
        )
        .await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_token_is_refused() {
    let (_env, app) = spawn().await;
    let session = app.sign_up(&unique_email()).await;
    let claims = claims_of(&session.token);
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"some-other-secret-that-is-long-enough"),
    )
    .unwrap();
    assert_refused(&app, &forged).await;
    // The genuine token still works, so the refusal is the signature's doing.
    assert!(!app.me(&session.token).await.is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alg_none_token_is_refused() {
    use base64::Engine as _;
    let (_env, app) = spawn().await;
    let session = app.sign_up(&unique_email()).await;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64.encode(claims_of(&session.token).to_string());
    assert_refused(&app, &format!("{header}.{payload}.")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_is_refused() {
    let (_env, app) = spawn().await;
    let session = app.sign_up(&unique_email()).await;
    let mut claims = claims_of(&session.token);
    let now = chrono::Utc::now().timestamp();
    claims["iat"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    let expired = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    assert_refused(&app, &expired).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_token_is_refused_and_the_cookie_cleared() {
    let (_env, app) = spawn().await;
    let session = app.sign_up(&unique_email()).await;
    let res = app
        .post("mutation { signOut }", json!({}), Some(&session.token))
        .await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("session=;"), "{cookie}");
    assert!(cookie.contains("Max-Age=0"), "{cookie}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["signOut"], true, "{body}");
    assert_refused(&app, &session.token).await;

    let again = app
        .gql("mutation { signOut }", json!({}), Some(&session.token))
        .await;
    assert_eq!(
        again["data"]["signOut"], false,
        "nothing left to sign out: {again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_holds_on_other_replicas_and_after_a_restart() {
    let env = TestEnv::new().await;
    let a = env.spawn().await;
    let b = env.spawn().await;
    let signed_out = a.sign_up(&unique_email()).await;
    let kept = a.sign_up(&unique_email()).await;
    assert!(
        !b.me(&signed_out.token).await.is_null(),
        "replica B honours A's session"
    );
    a.gql("mutation { signOut }", json!({}), Some(&signed_out.token))
        .await;
    assert_refused(&b, &signed_out.token).await;

    a.stop().await;
    b.stop().await;
    let restarted = env.spawn().await;
    assert_refused(&restarted, &signed_out.token).await;
    assert_eq!(
        restarted.me(&kept.token).await["email"],
        kept.email.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_racing_a_sign_out_cannot_bring_the_session_back() {
    // With PostgreSQL + Redis, live sessions are cached in Redis: a request that read the session
    // live just before the revocation must not write it back afterwards.
    let env = TestEnv::new().await;
    let a = env.spawn().await;
    let b = env.spawn().await;
    for round in 0..5 {
        let session = a.sign_up(&unique_email()).await;
        let racing: Vec<_> = (0..16)
            .map(|n| {
                let app = if n % 2 == 0 { &a } else { &b };
                let app = TestApp::remote(app.addr, &app.database_url);
                let token = session.token.clone();
                tokio::spawn(async move {
                    for _ in 0..10 {
                        app.me(&token).await;
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(5 * round)).await;
        let out = a
            .gql("mutation { signOut }", json!({}), Some(&session.token))
            .await;
        assert_eq!(out["data"]["signOut"], true, "{out}");
        for r in join_all(racing).await {
            r.unwrap();
        }
        for app in [&a, &b] {
            assert_refused(app, &session.token).await;
        }
    }
}

/// The session cache lives in Redis; without Redis the database still answers who is signed in,
/// and a sign-out that cannot write its tombstone is refused rather than half done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_sessions_are_checked_in_the_database_and_sign_out_waits_for_it() {
    if backend() != Backend::PostgresRedis {
        return;
    }
    let redis = PrivateRedis::start();
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("REDIS_URL", redis.url.as_str())]).await;
    let session = app.sign_up(&unique_email()).await;
    assert_eq!(app.me(&session.token).await["id"], session.user_id.as_str());

    redis.stop();
    assert_eq!(
        app.me(&session.token).await["id"],
        session.user_id.as_str(),
        "the database answers"
    );
    let out = app
        .gql("mutation { signOut }", json!({}), Some(&session.token))
        .await;
    assert_eq!(error_code(&out), Some("INTERNAL_SERVER_ERROR"), "{out}");
    assert_eq!(
        app.me(&session.token).await["id"],
        session.user_id.as_str(),
        "the refused sign-out changed nothing"
    );

    redis.restart();
    let signed_out = eventually(Duration::from_secs(10), || async {
        app.gql("mutation { signOut }", json!({}), Some(&session.token))
            .await["data"]["signOut"]
            == true
    })
    .await;
    assert!(signed_out, "sign-out works again once Redis is back");
    assert_refused(&app, &session.token).await;
}

/// The throttle counts an attempt before the password is hashed: 200 wrong passwords sent at
/// once for one email get at most 10 answers that judge the password (`UNAUTHENTICATED`); the
/// rest are `RATE_LIMITED` (the check made before hashing let 13 to 68 through).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_get_at_most_ten_verdicts() {
    let (_env, app) = spawn().await;
    let email = unique_email();
    app.sign_up(&email).await;
    let guesses = (0..200).map(|n| {
        let app = &app;
        let email = &email;
        async move { app.sign_in(email, &format!("wrong password {n}")).await }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let verdicts = answers
        .iter()
        .filter(|b| error_code(b) == Some("UNAUTHENTICATED"))
        .count();
    let limited = answers
        .iter()
        .filter(|b| error_code(b) == Some("RATE_LIMITED"))
        .count();
    assert!(verdicts <= 10, "{verdicts} guesses were judged");
    assert_eq!(verdicts + limited, 200, "every answer is one of the two");
    let body = app.sign_in(&email, PASSWORD).await;
    assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_failed_sign_ins_rate_limit_that_email_only() {
    let (_env, app) = spawn().await;
    let email = unique_email();
    let other = unique_email();
    app.sign_up(&email).await;
    app.sign_up(&other).await;
    for attempt in 1..=10 {
        let body = app.sign_in(&email, "wrong password").await;
        assert_eq!(
            error_code(&body),
            Some("UNAUTHENTICATED"),
            "attempt {attempt}: {body}"
        );
    }
    // Even the right password is refused until the window passes.
    let body = app.sign_in(&email, PASSWORD).await;
    assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
    let retry = body["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .expect("retryAfterSeconds");
    assert!((1..=900).contains(&retry), "{retry}");
    let body = app.sign_in(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(
        error_code(&body),
        Some("RATE_LIMITED"),
        "same email, any case: {body}"
    );

    let body = app.sign_in(&other, PASSWORD).await;
    assert!(
        body["data"]["signIn"]["token"].is_string(),
        "another email is not limited: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_password_checks_the_current_one_and_signs_out_other_sessions() {
    let (_env, app) = spawn().await;
    let email = unique_email();
    let current = app.sign_up(&email).await;
    let other_body = app.sign_in(&email, PASSWORD).await;
    let other = Session::from_payload(&other_body["data"]["signIn"]).unwrap();
    // Used once, so a shared store remembers it live: the change must reach that memory too.
    assert!(!app.me(&other.token).await.is_null());

    let body = app
        .gql(
            CHANGE_PASSWORD,
            json!({ "current": "not it at all", "new": "new password 1" }),
            Some(&current.token),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(error_fields(&body), ["currentPassword"]);

    let body = app
        .gql(
            CHANGE_PASSWORD,
            json!({ "current": PASSWORD, "new": "short" }),
            Some(&current.token),
        )
        .await;
    assert_eq!(error_fields(&body), ["newPassword"], "{body}");
    // Neither refusal changed the password.
    assert!(app.sign_in(&email, PASSWORD).await["data"]["signIn"].is_object());

    let body = app
        .gql(
            CHANGE_PASSWORD,
            json!({ "current": PASSWORD, "new": "new password 1" }),
            None,
        )
        .await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");

    let body = app
        .gql(
            CHANGE_PASSWORD,
            json!({ "current": PASSWORD, "new": "new password 1" }),
            Some(&current.token),
        )
        .await;
    assert_eq!(
        body["data"]["changePassword"]["email"],
        email.as_str(),
        "{body}"
    );

    assert_eq!(
        error_code(&app.sign_in(&email, PASSWORD).await),
        Some("UNAUTHENTICATED")
    );
    assert!(app.sign_in(&email, "new password 1").await["data"]["signIn"].is_object());
    assert!(
        !app.me(&current.token).await.is_null(),
        "the session that changed it stays"
    );
    assert!(
        app.me(&other.token).await.is_null(),
        "other sessions are signed out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_updated_is_pushed_to_its_owner_only() {
    let (_env, app) = spawn().await;
    let owner = app.sign_up(&unique_email()).await;
    let stranger = app.sign_up(&unique_email()).await;
    let mut owner_ws = WsClient::connect(
        &app,
        WsOptions {
            payload: json!({ "authorization": format!("Bearer {}", owner.token) }),
            ..Default::default()
        },
    )
    .await;
    let mut stranger_ws = WsClient::connect(
        &app,
        WsOptions {
            payload: json!({ "authorization": format!("Bearer {}", stranger.token) }),
            ..Default::default()
        },
    )
    .await;
    owner_ws
        .subscribe("1", "subscription { userUpdated { id email } }")
        .await;
    stranger_ws
        .subscribe("1", "subscription { userUpdated { id email } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let body = app
        .gql(
            CHANGE_PASSWORD,
            json!({ "current": PASSWORD, "new": "new password 1" }),
            Some(&owner.token),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");

    let pushed = owner_ws
        .next_data("1", Duration::from_secs(5))
        .await
        .expect("pushed");
    assert_eq!(pushed["data"]["userUpdated"]["id"], owner.user_id.as_str());
    assert!(
        stranger_ws
            .next_data("1", Duration::from_millis(700))
            .await
            .is_none(),
        "another user's update leaked"
    );
}

/// `signOut` ends the credential for what follows it in the same batch or document: the
/// operations after it run signed out (they had run as the revoked session).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_after_sign_out_in_one_batch_run_signed_out() {
    let (_env, app) = spawn().await;
    let user = app.sign_up(&unique_email()).await;
    let batch: Value = app
        .client
        .post(format!("{}/graphql", app.url))
        .bearer_auth(&user.token)
        .json(&json!([
            { "query": "mutation { signOut }" },
            { "query": "{ me { id } }" },
            { "query": "mutation { createTicket(input: {title: \"After\", price: \"1\"}) { id } }" },
        ]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(batch[0]["data"]["signOut"], true, "{batch}");
    assert!(batch[1]["data"]["me"].is_null(), "{batch}");
    assert_eq!(error_code(&batch[2]), Some("UNAUTHENTICATED"), "{batch}");

    let other = app.sign_up(&unique_email()).await;
    let one = app
        .gql(
            "mutation { signOut createTicket(input: {title: \"After\", price: \"1\"}) { id } }",
            json!({}),
            Some(&other.token),
        )
        .await;
    assert_eq!(one["data"]["signOut"], true, "{one}");
    assert_eq!(error_code(&one), Some("UNAUTHENTICATED"), "{one}");
}
