//! Downloading an image for `pixelate` from an http(s) URL, with a size limit (checked on the
//! declared length and again while streaming), a total time limit, and at most 5 redirects.
//! Unless the server allows private URLs, only public addresses are connected to, redirects
//! included ([`crate::net_guard`]).

use std::time::Duration;

/// Most bytes downloaded.
pub const MAX_DOWNLOAD_BYTES: usize = 32 * 1024 * 1024;
/// Time limit for the whole download.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a download failed; each message names the URL and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", not_http(.0))]
    NotHttp(String),
    #[error("downloading {url} failed: {detail}")]
    Request { url: String, detail: String },
    #[error("downloading {url} failed: {0}", url = .1)]
    Forbidden(crate::net_guard::Forbidden, String),
    #[error("{url} answered HTTP {status}: check the URL (and that it needs no login)")]
    Status { url: String, status: u16 },
    #[error(
        "{url} is larger than {limit} bytes: download it yourself, shrink it, and pass it as a path"
    )]
    TooLarge { url: String, limit: usize },
    #[error("downloading {url} took longer than {} s: pass the image as a path instead", DOWNLOAD_TIMEOUT.as_secs())]
    Timeout { url: String },
}

/// Why `url` is not downloaded, without echoing all of a long one (a `data:` URL can be megabytes).
fn not_http(url: &str) -> String {
    if url
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"))
    {
        return "a data: URL is not downloaded: pass it as `data_base64` instead (its \
                `data:image/...;base64,` prefix is accepted there)"
            .into();
    }
    const SHOWN: usize = 100;
    let shown = match url.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}… ({} characters)", &url[..end], url.chars().count()),
        None => url.to_string(),
    };
    format!("`{shown}` is not an http(s) URL: give a URL starting with http:// or https://")
}

/// Most redirects followed.
pub const MAX_REDIRECTS: usize = 5;

/// A client with the limits above (built once per server); `public_only` keeps it to public
/// addresses.
pub fn client(public_only: bool) -> reqwest::Client {
    let builder = if public_only {
        crate::net_guard::guarded_client(MAX_REDIRECTS)
    } else {
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
    };
    builder
        .timeout(DOWNLOAD_TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("pixelsmith/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Downloads `url` into memory, refusing more than `limit` bytes; with `public_only`, an IP
/// literal that is not public is refused before anything is sent (the client checks names and
/// redirects).
pub async fn download(
    client: &reqwest::Client,
    url: &str,
    limit: usize,
    public_only: bool,
) -> Result<Vec<u8>, Error> {
    let parsed = reqwest::Url::parse(url).map_err(|_| Error::NotHttp(url.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::NotHttp(url.to_string()));
    }
    if public_only {
        crate::net_guard::check_url(&parsed).map_err(|f| Error::Forbidden(f, url.to_string()))?;
    }
    let request_err = |e: reqwest::Error| {
        if let Some(forbidden) = crate::net_guard::forbidden_cause(&e) {
            Error::Forbidden(forbidden, url.to_string())
        } else if e.is_timeout() {
            Error::Timeout {
                url: url.to_string(),
            }
        } else {
            Error::Request {
                url: url.to_string(),
                // The whole chain: reqwest alone says only "error sending request".
                detail: crate::net_guard::error_chain(&e),
            }
        }
    };
    let response = client.get(parsed).send().await.map_err(request_err)?;
    if !response.status().is_success() {
        return Err(Error::Status {
            url: url.to_string(),
            status: response.status().as_u16(),
        });
    }
    let too_large = || Error::TooLarge {
        url: url.to_string(),
        limit,
    };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    let mut response = response;
    while let Some(chunk) = response.chunk().await.map_err(request_err)? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn serve(body: Vec<u8>, status: u16) -> String {
        let app = axum::Router::new().route(
            "/img",
            axum::routing::get(move || {
                let body = body.clone();
                async move { (axum::http::StatusCode::from_u16(status).unwrap(), body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/img")
    }

    #[tokio::test]
    async fn downloads_within_the_limit_and_refuses_beyond_it() {
        let url = serve(vec![7u8; 1000], 200).await;
        let client = client(false);
        assert_eq!(
            download(&client, &url, 1000, false).await.unwrap().len(),
            1000
        );
        let err = download(&client, &url, 999, false).await.unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
        let missing = serve(Vec::new(), 404).await;
        let err = download(&client, &missing, 10, false).await.unwrap_err();
        assert!(err.to_string().contains("HTTP 404"), "{err}");
        let err = download(&client, "file:///etc/passwd", 10, false)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotHttp(_)), "{err}");
        let data_url = format!("data:image/png;base64,{}", "A".repeat(100_000));
        let err = download(&client, &data_url, 10, false).await.unwrap_err();
        assert!(
            err.to_string().contains("data_base64") && err.to_string().len() < 200,
            "{err}"
        );
        let long = format!("ftp://{}", "x".repeat(10_000));
        let err = download(&client, &long, 10, false).await.unwrap_err();
        assert!(err.to_string().len() < 300, "{err}");
        // The cause is kept: reqwest alone says only "error sending request".
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = download(&client, &format!("http://{closed}/x"), 10, false)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("onnection refused"), "{err}");
    }
}
