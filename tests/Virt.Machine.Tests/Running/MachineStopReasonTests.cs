using Xunit;

namespace Virt.Machine.Tests.Running;

public sealed class MachineStopReasonTests
{
    [Theory]
    [InlineData(MachineStopKind.HaltedForGood, ProcessExitStatuses.Success)]
    [InlineData(MachineStopKind.PoweredOff, ProcessExitStatuses.Success)]
    [InlineData(MachineStopKind.ResetRequested, ProcessExitStatuses.Success)]
    [InlineData(MachineStopKind.Shutdown, ProcessExitStatuses.GuestCrashed)]
    [InlineData(MachineStopKind.ResetLoop, ProcessExitStatuses.GuestCrashed)]
    [InlineData(MachineStopKind.BudgetExhausted, ProcessExitStatuses.LimitReached)]
    [InlineData(MachineStopKind.GuestTimeLimit, ProcessExitStatuses.LimitReached)]
    [InlineData(MachineStopKind.HaltedWithNoWakeSource, ProcessExitStatuses.Success)]
    [InlineData(MachineStopKind.Timeout, ProcessExitStatuses.LimitReached)]
    [InlineData(MachineStopKind.Cancelled, ProcessExitStatuses.Interrupted)]
    [InlineData(MachineStopKind.Paused, ProcessExitStatuses.Interrupted)]
    [InlineData(MachineStopKind.Breakpoint, ProcessExitStatuses.Interrupted)]
    public void EachStopKindHasItsExitStatus(MachineStopKind kind, int status) =>
        Assert.Equal(status, new MachineStopReason(kind, "test").ProcessExitStatus);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(0x7FFF)]
    public void DebugExitStatusesAreOddAndNeverClashWithTheOthers(int value)
    {
        int status = new MachineStopReason(MachineStopKind.DebugExit, "test", ProcessExitStatuses.ForDebugExit(value)).ProcessExitStatus;
        Assert.Equal((value << 1) | 1, status);
        Assert.Equal(1, status & 1);
    }

    [Fact]
    public void TheFixedStatusesAreDistinctAndEven()
    {
        // Even, so that no isa-debug-exit value (always odd) can be mistaken for them.
        int[] statuses = [ProcessExitStatuses.Success, ProcessExitStatuses.BadInput, ProcessExitStatuses.GuestCrashed, ProcessExitStatuses.OtherStop, ProcessExitStatuses.LimitReached, ProcessExitStatuses.Interrupted];
        Assert.Equal(statuses.Length, statuses.Distinct().Count());
        Assert.All(statuses, s => Assert.Equal(0, s & 1));
    }

    [Fact]
    public void EveryKindIsMapped()
    {
        // A kind added later must get its own status here rather than fall through to OtherStop unnoticed.
        Assert.All(Enum.GetValues<MachineStopKind>(), kind => Assert.NotEqual(ProcessExitStatuses.OtherStop, new MachineStopReason(kind, "test", 1).ProcessExitStatus));
    }
}
