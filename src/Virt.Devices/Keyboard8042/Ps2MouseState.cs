namespace Virt.Devices;

/// <summary>The saved state of a <see cref="Ps2Mouse"/>.</summary>
/// <param name="Version">The record version, <see cref="CurrentVersion"/>.</param>
/// <param name="Output">Bytes waiting to go to the controller, oldest first.</param>
/// <param name="SampleRate">Samples per second (F3h).</param>
/// <param name="Resolution">Resolution code 0-3 (E8h).</param>
/// <param name="Scaling2To1">Whether 2:1 scaling is set (E7h).</param>
/// <param name="ReportingEnabled">Whether data reporting is on (F4h).</param>
/// <param name="RemoteMode">Whether remote mode is set (F0h) rather than stream mode.</param>
/// <param name="WrapMode">Whether wrap (echo) mode is set (EEh).</param>
/// <param name="DeviceId">0 for a standard mouse, 3 after the IntelliMouse sample-rate sequence.</param>
/// <param name="Buttons">The buttons held.</param>
/// <param name="PendingCommand">The command waiting for its parameter byte, or 0.</param>
/// <param name="LastSent">The last byte sent (for resend).</param>
/// <param name="RecentSampleRates">The last three sample rates set, oldest first, packed as bytes 2-0 of the value.</param>
/// <param name="RemoteDeltaX">Movement accumulated for a remote-mode read (EBh).</param>
/// <param name="RemoteDeltaY">Movement accumulated for a remote-mode read, PS/2 sign (up is positive).</param>
public sealed record Ps2MouseState(
    int Version,
    byte[] Output,
    byte SampleRate,
    byte Resolution,
    bool Scaling2To1,
    bool ReportingEnabled,
    bool RemoteMode,
    bool WrapMode,
    byte DeviceId,
    byte Buttons,
    byte PendingCommand,
    byte LastSent,
    int RecentSampleRates,
    int RemoteDeltaX,
    int RemoteDeltaY)
{
    /// <summary>The version this build writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Compares every field, the output bytes by value.</summary>
    /// <param name="other">The other record.</param>
    /// <returns>Whether both describe the same state.</returns>
    public bool Equals(Ps2MouseState? other) =>
        other is not null && Version == other.Version && Output.AsSpan().SequenceEqual(other.Output) &&
        SampleRate == other.SampleRate && Resolution == other.Resolution && Scaling2To1 == other.Scaling2To1 &&
        ReportingEnabled == other.ReportingEnabled && RemoteMode == other.RemoteMode && WrapMode == other.WrapMode &&
        DeviceId == other.DeviceId && Buttons == other.Buttons && PendingCommand == other.PendingCommand &&
        LastSent == other.LastSent && RecentSampleRates == other.RecentSampleRates &&
        RemoteDeltaX == other.RemoteDeltaX && RemoteDeltaY == other.RemoteDeltaY;

    /// <summary>A hash over the fields and output bytes.</summary>
    /// <returns>The hash.</returns>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Output);
        hash.Add(SampleRate);
        hash.Add(ReportingEnabled);
        hash.Add(DeviceId);
        hash.Add(RemoteDeltaX);
        return hash.ToHashCode();
    }
}
