//! Every operation the server answers, by path template: what a 405 lists in `Allow`, what a 415
//! names as accepted media types, and which query parameters an operation knows. Built once at
//! start-up from the OpenAPI registry (so it cannot drift from the spec) plus the few routes that
//! live outside it.

use poem::http::Method;
use poem_openapi::registry::{MetaApi, MetaParamIn};

/// One segment of a path template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

/// One operation of a route.
#[derive(Clone, Debug)]
struct Operation {
    method: Method,
    media_types: Vec<&'static str>,
    query: Vec<String>,
}

/// One path template and its operations.
#[derive(Clone, Debug)]
pub struct Route {
    segments: Vec<Segment>,
    operations: Vec<Operation>,
    /// Whether the template comes from the OpenAPI spec (its query parameters are all known).
    documented: bool,
}

/// Order in which methods are listed in `Allow`.
const METHOD_ORDER: [Method; 6] = [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

impl Route {
    /// The `Allow` header value: the route's methods (HEAD wherever GET is), in a fixed order.
    pub fn allow(&self) -> String {
        let has = |m: &Method| {
            self.operations.iter().any(|op| op.method == *m || (*m == Method::HEAD && op.method == Method::GET))
        };
        METHOD_ORDER.iter().filter(|m| has(m)).map(Method::as_str).collect::<Vec<_>>().join(", ")
    }

    /// The media types `method` accepts as a body (empty when it takes none, or the route is unknown).
    pub fn media_types(&self, method: &Method) -> &[&'static str] {
        self.operations.iter().find(|op| op.method == *method).map(|op| op.media_types.as_slice()).unwrap_or(&[])
    }

    /// The query parameters `method` documents; `None` when the route is outside the spec.
    pub fn query_parameters(&self, method: &Method) -> Option<&[String]> {
        if !self.documented {
            return None;
        }
        self.operations.iter().find(|op| op.method == *method).map(|op| op.query.as_slice())
    }

    fn matches(&self, path: &str) -> bool {
        let mut parts = path.trim_end_matches('/').split('/').skip(1);
        for segment in &self.segments {
            match (segment, parts.next()) {
                (Segment::Literal(expected), Some(part)) if expected == part => {}
                (Segment::Param, Some(part)) if !part.is_empty() => {}
                _ => return false,
            }
        }
        parts.next().is_none()
    }
}

/// The server's routes.
#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

fn segments(template: &str) -> Vec<Segment> {
    template
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(|part| {
            if part.starts_with(':') || (part.starts_with('{') && part.ends_with('}')) {
                Segment::Param
            } else {
                Segment::Literal(part.to_owned())
            }
        })
        .collect()
}

impl RouteTable {
    /// The operations of the OpenAPI registry.
    pub fn from_meta(apis: Vec<MetaApi>) -> Self {
        let mut table = Self::default();
        for path in apis.into_iter().flat_map(|api| api.paths) {
            let operations = path
                .operations
                .into_iter()
                .map(|op| Operation {
                    method: op.method,
                    media_types: op
                        .request
                        .map(|r| r.content.iter().map(|c| c.content_type).collect())
                        .unwrap_or_default(),
                    query: op
                        .params
                        .into_iter()
                        .filter(|p| matches!(p.in_type, MetaParamIn::Query))
                        .map(|p| p.name)
                        .collect(),
                })
                .collect();
            table.push(Route { segments: segments(&path.path), operations, documented: true });
        }
        table
    }

    /// Adds a route outside the spec, with its methods and the media types its bodies take.
    pub fn with(mut self, template: &str, methods: &[Method], media_types: &[&'static str]) -> Self {
        let operations = methods
            .iter()
            .map(|method| Operation { method: method.clone(), media_types: media_types.to_vec(), query: vec![] })
            .collect();
        self.push(Route { segments: segments(template), operations, documented: false });
        self
    }

    fn push(&mut self, route: Route) {
        match self.routes.iter_mut().find(|r| r.segments == route.segments) {
            Some(existing) => existing.operations.extend(route.operations),
            None => self.routes.push(route),
        }
    }

    /// The route `path` belongs to. Literal segments win over parameters, as in the router.
    pub fn find(&self, path: &str) -> Option<&Route> {
        self.routes
            .iter()
            .filter(|route| route.matches(path))
            .max_by_key(|route| route.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::default()
            .with("/v1/environments/:envId/users/:userId/oauthConsents", &[Method::GET, Method::POST], &["a/b"])
            .with("/v1/environments/:envId/users/:userId/oauthConsents/effective", &[Method::GET], &[])
            .with("/v1/environments/:envId/users/:userId/oauthConsents/:consentId", &[Method::GET], &[])
            .with("/v1/environments/:envId/users/:userId/oauthConsents/:consentId", &[Method::PATCH], &["c/d"])
    }

    #[test]
    fn allow_lists_the_methods_of_the_matching_template_with_head_beside_get() {
        let table = table();
        let item = table.find("/v1/environments/e/users/u/oauthConsents/c").expect("item route");
        assert_eq!(item.allow(), "GET, HEAD, PATCH");
        assert_eq!(item.media_types(&Method::PATCH), ["c/d"]);
        let collection = table.find("/v1/environments/e/users/u/oauthConsents/").expect("trailing slash");
        assert_eq!(collection.allow(), "GET, HEAD, POST");
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        let table = table();
        assert_eq!(table.find("/v1/environments/e/users/u/oauthConsents/effective").unwrap().allow(), "GET, HEAD");
    }

    #[test]
    fn paths_of_other_shapes_match_nothing() {
        let table = table();
        assert!(table.find("/v1/environments/e/users/u").is_none());
        assert!(table.find("/v1/environments/e/users//oauthConsents").is_none());
        assert!(table.find("/v1/environments/e/users/u/oauthConsents/c/x").is_none());
    }
}
