//! The stateless operators: a map (one record out per record in) and a
//! filter (the records its predicate keeps). Neither holds state; a
//! snapshot holds only the in-flight data of an unaligned checkpoint.

use super::driver::{run_operator, Operator};
use super::io::OutputGate;
use super::{TaskEnv, TaskError};
use crate::checkpoint::{CheckpointId, OperatorState};
use crate::functions::{FilterPredicate, MapFunction};
use crate::record::Record;
use crate::resources::CostedOperator;

/// What a stateless task applies to each record.
#[derive(Clone, Copy, Debug)]
pub enum Function {
    Map(MapFunction),
    Filter(FilterPredicate),
}

struct Stateless {
    function: Function,
}

impl Operator for Stateless {
    async fn process(&mut self, batch: Vec<Record>, out: &mut OutputGate) -> Result<(), TaskError> {
        let (n, before) = (batch.len() as u64, out.records_out);
        match self.function {
            Function::Map(f) => {
                out.emit_all(batch.into_iter().map(|r| f.apply(r))).await?;
                assert_eq!(
                    out.records_out - before,
                    n,
                    "invariant: a map emits one record per record"
                );
            }
            Function::Filter(p) => {
                out.emit_all(batch.into_iter().filter(|r| p.test(r))).await?;
                assert!(
                    out.records_out - before <= n,
                    "invariant: a filter emits no more than it takes"
                );
            }
        }
        Ok(())
    }

    async fn snapshot(&mut self, _checkpoint: CheckpointId) -> Result<OperatorState, TaskError> {
        Ok(OperatorState::Stateless)
    }
}

pub async fn run(env: TaskEnv, function: Function) -> Result<(), TaskError> {
    let restored = env.restored_state().await?;
    let ready = env.restore_and_connect(&restored, |_| 0).await?;
    run_operator(env, (Stateless { function }, CostedOperator::Stateless), ready).await
}
