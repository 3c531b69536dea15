namespace Virt.Devices;

/// <summary>The saved state of a <see cref="LocalApic"/>: every register and the timer's position on the virtual clock.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="ApicBaseMsr">IA32_APIC_BASE (MSR 1Bh).</param>
/// <param name="Id">The APIC ID (ID register bits 31:24).</param>
/// <param name="TaskPriority">TPR.</param>
/// <param name="LogicalDestination">LDR.</param>
/// <param name="DestinationFormat">DFR.</param>
/// <param name="SpuriousVector">SVR.</param>
/// <param name="InService">ISR, eight 32-bit words, vectors 0-31 first.</param>
/// <param name="TriggerMode">TMR, eight words.</param>
/// <param name="Requests">IRR, eight words.</param>
/// <param name="ErrorStatus">ESR as the guest reads it.</param>
/// <param name="PendingErrors">Errors detected since the last ESR write (they become visible at the next one).</param>
/// <param name="LocalVectorTable">The LVT: timer, thermal, performance counter, LINT0, LINT1, error.</param>
/// <param name="InterruptCommandLow">ICR bits 31:0.</param>
/// <param name="InterruptCommandHigh">ICR bits 63:32.</param>
/// <param name="InitialCount">The timer's initial-count register.</param>
/// <param name="DivideConfiguration">The timer's divide-configuration register.</param>
/// <param name="TimerArmed">Whether the timer counts (one-shot or periodic).</param>
/// <param name="TimerEpochNanoseconds">The guest time at which the current count last equalled the initial count.</param>
/// <param name="TscDeadline">IA32_TSC_DEADLINE as written (0: disarmed).</param>
/// <param name="TscDeadlineNanoseconds">The guest time the TSC deadline falls due.</param>
/// <param name="ExtIntPending">Whether an ExtINT message waits for the INTA cycle.</param>
public sealed record LocalApicState(
    int Version,
    ulong ApicBaseMsr,
    byte Id,
    byte TaskPriority,
    uint LogicalDestination,
    uint DestinationFormat,
    uint SpuriousVector,
    uint[] InService,
    uint[] TriggerMode,
    uint[] Requests,
    uint ErrorStatus,
    uint PendingErrors,
    uint[] LocalVectorTable,
    uint InterruptCommandLow,
    uint InterruptCommandHigh,
    uint InitialCount,
    uint DivideConfiguration,
    bool TimerArmed,
    long TimerEpochNanoseconds,
    ulong TscDeadline,
    long TscDeadlineNanoseconds,
    bool ExtIntPending)
{
    /// <summary>The version this library writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Compares every field, arrays by value.</summary>
    /// <param name="other">The other record.</param>
    /// <returns>Whether both describe the same state.</returns>
    public bool Equals(LocalApicState? other) =>
        other is not null && Version == other.Version && ApicBaseMsr == other.ApicBaseMsr && Id == other.Id &&
        TaskPriority == other.TaskPriority && LogicalDestination == other.LogicalDestination &&
        DestinationFormat == other.DestinationFormat && SpuriousVector == other.SpuriousVector &&
        InService.AsSpan().SequenceEqual(other.InService) && TriggerMode.AsSpan().SequenceEqual(other.TriggerMode) &&
        Requests.AsSpan().SequenceEqual(other.Requests) && ErrorStatus == other.ErrorStatus && PendingErrors == other.PendingErrors &&
        LocalVectorTable.AsSpan().SequenceEqual(other.LocalVectorTable) && InterruptCommandLow == other.InterruptCommandLow &&
        InterruptCommandHigh == other.InterruptCommandHigh && InitialCount == other.InitialCount &&
        DivideConfiguration == other.DivideConfiguration && TimerArmed == other.TimerArmed &&
        TimerEpochNanoseconds == other.TimerEpochNanoseconds && TscDeadline == other.TscDeadline &&
        TscDeadlineNanoseconds == other.TscDeadlineNanoseconds && ExtIntPending == other.ExtIntPending;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Version, ApicBaseMsr, Id, SpuriousVector, InitialCount, TimerEpochNanoseconds, TscDeadline);
}
