//! A panic inside the engine becomes [`DeliveryError::Panicked`] instead of unwinding into the
//! caller: the engine (and a binding's `Sideloader` that lent it out) is handed back and can
//! run again.

use crate::DeliveryError;
use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Poll;

use crate::Error;

/// Awaits `fut`; a panic while it is polled ends it with [`DeliveryError::Panicked`] (`during` says
/// what was running). The future is dropped at once; what it borrowed is free again.
pub(crate) async fn caught<T>(
    during: &'static str,
    fut: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(move |cx| {
        match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                let message = message(payload.as_ref());
                tracing::error!(during, message = %message, "the sideloader panicked (a bug); it is stopped and can run again");
                Poll::Ready(Err(Error::Delivery(DeliveryError::Panicked { during, message })))
            }
        }
    })
    .await
}

/// The text of a panic's payload (`panic!("…")` gives a `&str` or a `String`).
fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_and_the_borrow_ends() {
        let mut state = 1;
        let r = futures_executor_free_block_on(caught("a test", async {
            state += 1;
            if state > 1 {
                panic!("boom {state}");
            }
            Ok(())
        }));
        assert!(
            matches!(&r, Err(Error::Delivery(DeliveryError::Panicked { during: "a test", message })) if message == "boom 2"),
            "{r:?}"
        );
        state += 1; // borrowed by the future above, free again
        assert_eq!(state, 3);
    }

    fn futures_executor_free_block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }
}
