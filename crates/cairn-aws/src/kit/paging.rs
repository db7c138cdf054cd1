//! Lists that span pages. aws-sdk-rust gives every paginated operation an
//! `into_paginator()`; [`all`] drains one into a `Vec` of items, so a type never stops at
//! the first page (IAM answers 100 items a page: a role with more inline policies than
//! that used to fail to delete).
//!
//! ```ignore
//! let names = kit::paging::all(iam.list_role_policies().role_name(name).into_paginator().items().send()).await?;
//! ```

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use cairn_core::provider::ProviderError;

/// Every item of a paginated list (`.into_paginator().items().send()`), or the first error.
pub async fn all<T, E>(
    mut items: aws_smithy_async::future::pagination_stream::PaginationStream<Result<T, SdkError<E, HttpResponse>>>,
) -> Result<Vec<T>, ProviderError>
where
    E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata + Send + Sync + 'static,
{
    let mut out = Vec::new();
    while let Some(item) = items.next().await {
        out.push(item.map_err(crate::sdk_error)?);
    }
    Ok(out)
}
