// Public face of worker groups: membership, partition leases, fair share, status.
export { fairShares, planRebalance, rendezvousScore, type PartitionView, type RebalanceInput, type RebalancePlan } from './balancer.js';
export { openGroupBucket, systemClock, isRevisionConflict, leaseKey, memberKey, type GroupBucketOptions, type GroupClock, type LeaseValue, type MemberValue } from './leases.js';
export { defaultWorkerId, isValidWorkerId } from './membership.js';
export { GroupMember, type GroupMemberOptions } from './member.js';
export { GroupMetrics } from './metrics.js';
export { formatGroupStatus, groupStatus, type GroupStatus, type GroupStatusOptions, type PartitionExtras, type PartitionStatus, type WorkerStatus } from './status.js';
export { partitionExtras } from './status-extras.js';
