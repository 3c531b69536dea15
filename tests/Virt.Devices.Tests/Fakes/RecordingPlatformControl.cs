using Virt.Devices;

namespace Virt.Devices.Tests.Fakes;

/// <summary>A platform control that records what devices asked for.</summary>
public sealed class RecordingPlatformControl : IPlatformControl
{
    public bool A20Enabled { get; private set; } = true;

    public List<bool> A20Changes { get; } = [];

    public List<string> ResetRequests { get; } = [];

    public List<(int ExitCode, string Source)> ExitRequests { get; } = [];

    public void SetA20(bool enabled)
    {
        A20Enabled = enabled;
        A20Changes.Add(enabled);
    }

    public void RequestReset(string source) => ResetRequests.Add(source);

    public List<string> PowerOffRequests { get; } = [];

    public void RequestExit(int exitCode, string source) => ExitRequests.Add((exitCode, source));

    public void RequestPowerOff(string source) => PowerOffRequests.Add(source);
}
