namespace Virt.Devices;

/// <summary>The saved state of a <see cref="Piix4PowerManagement"/>.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Configuration">The configuration space (PMBA, PMREGMISC, SMBus base included).</param>
/// <param name="PmStatus">PMSTS (PM1a_STS).</param>
/// <param name="PmEnable">PMEN (PM1a_EN).</param>
/// <param name="PmControl">PMCNTRL (PM1a_CNT), without the write-only bits.</param>
/// <param name="GpeStatus">GPE0_STS.</param>
/// <param name="GpeEnable">GPE0_EN.</param>
/// <param name="OtherRegisters">The other 64 bytes of the PM I/O block as stored (offsets 0Ch-3Fh matter).</param>
/// <param name="TimerOverflowEpoch">The PM timer count divided by 2^23 when TMROF_STS was last brought up to date.</param>
/// <param name="ApmControl">APMC (port B2h).</param>
/// <param name="ApmStatus">APMS (port B3h).</param>
public sealed record Piix4PowerManagementState(
    int Version,
    PciConfigurationState Configuration,
    ushort PmStatus,
    ushort PmEnable,
    ushort PmControl,
    ushort GpeStatus,
    ushort GpeEnable,
    byte[] OtherRegisters,
    long TimerOverflowEpoch,
    byte ApmControl,
    byte ApmStatus)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Compares every field, the byte arrays by value.</summary>
    /// <param name="other">The other record.</param>
    /// <returns>Whether both describe the same state.</returns>
    public bool Equals(Piix4PowerManagementState? other) =>
        other is not null && Version == other.Version && Equals(Configuration, other.Configuration) && PmStatus == other.PmStatus &&
        PmEnable == other.PmEnable && PmControl == other.PmControl && GpeStatus == other.GpeStatus && GpeEnable == other.GpeEnable &&
        OtherRegisters.AsSpan().SequenceEqual(other.OtherRegisters) && TimerOverflowEpoch == other.TimerOverflowEpoch &&
        ApmControl == other.ApmControl && ApmStatus == other.ApmStatus;

    /// <summary>A hash over the registers.</summary>
    /// <returns>The hash.</returns>
    public override int GetHashCode() => HashCode.Combine(Version, Configuration, PmStatus, PmEnable, PmControl, GpeStatus, GpeEnable, TimerOverflowEpoch);
}
