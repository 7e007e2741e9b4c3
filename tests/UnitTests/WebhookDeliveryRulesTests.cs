using MediaService.Grains.Domain;

namespace MediaService.UnitTests;

public sealed class WebhookDeliveryRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly IReadOnlyList<TimeSpan> Schedule = new MediaService.DataPlane.Webhooks.WebhookOptions().Schedule;

    private static DeliveryDecision Decide(int? status, int attempt = 1, bool manual = false, TimeSpan? retryAfter = null, double jitter = 0.5) =>
        WebhookDeliveryRules.Decide(new AttemptAnswer(status, status is null ? "No answer within 15 s." : null, retryAfter), attempt, manual, Schedule, Now, jitter);

    [Theory]
    [InlineData(200)]
    [InlineData(204)]
    [InlineData(299)]
    public void TwoHundredsAreDelivered(int status) => Assert.Equal(DeliveryVerdict.Delivered, Decide(status).Verdict);

    [Theory]
    [InlineData(301)]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(500)]
    [InlineData(null)]
    public void OtherAnswersAreRetriedOnTheSchedule(int? status)
    {
        var decision = Decide(status);

        Assert.Equal(DeliveryVerdict.Retry, decision.Verdict);
        Assert.Equal(Now + TimeSpan.FromSeconds(5), decision.NextAttemptAt);
        Assert.NotNull(decision.Error);
    }

    [Fact]
    public void ARedirectIsNotFollowedAndTheErrorSaysSo() => Assert.Contains("redirects are not followed", Decide(302).Error);

    [Fact]
    public void GoneDisablesAtOnce() => Assert.Equal(DeliveryVerdict.Gone, Decide(410, attempt: 1).Verdict);

    [Fact]
    public void TheScheduleSpansAboutADayWithJitterAndThenTheDeliveryFails()
    {
        TimeSpan Span(double jitter) => TimeSpan.FromTicks(Enumerable.Range(1, Schedule.Count).Sum(a => (Decide(500, a, jitter: jitter).NextAttemptAt!.Value - Now).Ticks));

        Assert.Equal(10, Schedule.Count); // 11 attempts
        Assert.InRange(Span(0), TimeSpan.FromHours(17), TimeSpan.FromHours(18));
        Assert.InRange(Span(0.999), TimeSpan.FromHours(26), TimeSpan.FromHours(27));
        Assert.Equal(DeliveryVerdict.Exhausted, Decide(500, Schedule.Count + 1).Verdict);
        Assert.Null(Decide(500, Schedule.Count + 1).NextAttemptAt);
    }

    [Fact]
    public void RetryAfterIsHonouredForThrottlingUpToAnHour()
    {
        Assert.Equal(Now + TimeSpan.FromMinutes(5), Decide(429, retryAfter: TimeSpan.FromMinutes(5)).NextAttemptAt);
        Assert.Equal(Now + TimeSpan.FromHours(1), Decide(503, retryAfter: TimeSpan.FromDays(2)).NextAttemptAt);
        Assert.Equal(Now + TimeSpan.FromSeconds(5), Decide(503, retryAfter: TimeSpan.FromSeconds(1)).NextAttemptAt); // never sooner than the schedule
        Assert.Equal(Now + TimeSpan.FromSeconds(5), Decide(500, retryAfter: TimeSpan.FromMinutes(5)).NextAttemptAt); // only for throttling answers
    }

    [Fact]
    public void AManualRedeliveryGetsOneAttempt() => Assert.Equal(DeliveryVerdict.Exhausted, Decide(500, attempt: 3, manual: true).Verdict);

    [Fact]
    public void OnlyASubscriptionWithNoSuccessForLongIsDisabled()
    {
        var day = TimeSpan.FromHours(24);

        Assert.True(WebhookDeliveryRules.Disables(null, Now.AddDays(-2), Now, day));
        Assert.True(WebhookDeliveryRules.Disables(Now.AddHours(-25), Now.AddDays(-9), Now, day));
        Assert.False(WebhookDeliveryRules.Disables(Now.AddMinutes(-1), Now.AddDays(-9), Now, day)); // one poisoned event
        Assert.False(WebhookDeliveryRules.Disables(null, Now.AddHours(-1), Now, day));
    }
}
