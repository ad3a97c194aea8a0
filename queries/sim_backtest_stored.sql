-- sim_backtest_stored: the 测算 backtest of $scope_id precomputed when the snapshot was
-- written (derived table sim_backtest) with the settings and model $fingerprint
-- (simulator.backtest_fingerprint): one row per overall test with an estimate, in test order.
-- params: $scope_id, $fingerprint
select assessment_id, assessment_name, level, start_date, estimate_as_of, estimate, actual,
    error, naive, naive_error, measured, end_date
from sim_backtest
where scope_id = $scope_id and fingerprint = $fingerprint
order by pos
