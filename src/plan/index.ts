/**
 * @module plan
 * The upgrade planner: pure functions from a cluster-state view and a policy to the ordered
 * steps of a safe upgrade (planUpgrade), the replay that proves each step is allowed (replay),
 * and the two output formats.
 */
export { planUpgrade, PLANNER_USER, type PlanRequest } from './plan.js'
export { completeRollouts, copyClusterState, replay, substitute, type StepDenial } from './simulate.js'
export { formatPlanJson, formatPlanText, PLAN_VERSION, toJsonPlan } from './format.js'
export type { Plan, PlanResult, PlanStep, Refusal, Rollout, StepKind, WorkerOrder } from './types.js'
