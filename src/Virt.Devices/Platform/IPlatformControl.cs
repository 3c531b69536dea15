namespace Virt.Devices;

/// <summary>
/// What a few PC devices may ask of the machine around them: the A20 gate (keyboard controller
/// output port, port 92h), a system reset (8042 command FEh, port 92h bit 0, port CF9h) and a stop
/// with an exit code (QEMU's isa-debug-exit). Injected by the machine; devices never see the CPU.
/// </summary>
public interface IPlatformControl
{
    /// <summary>Whether address line 20 is currently enabled.</summary>
    bool A20Enabled { get; }

    /// <summary>Enables or disables address line 20.</summary>
    /// <param name="enabled">The new state.</param>
    void SetA20(bool enabled);

    /// <summary>Asks for a system reset; the machine performs it (or stops, when so configured) after the current instruction.</summary>
    /// <param name="source">What asked, for the stop reason, for example <c>"8042 command FEh"</c>.</param>
    void RequestReset(string source);

    /// <summary>Asks the machine to stop with an exit code after the current instruction.</summary>
    /// <param name="exitCode">The code the host sees, for example <c>(v &lt;&lt; 1) | 1</c> for isa-debug-exit.</param>
    /// <param name="source">What asked.</param>
    void RequestExit(int exitCode, string source);

    /// <summary>
    /// Asks the machine to power off after the current instruction, as an ACPI sleep to S5 does (PIIX4 PM1a_CNT
    /// SLP_EN); the run ends as a power-off, which a QEMU-like front end reports with exit status 0.
    /// </summary>
    /// <param name="source">What asked, for the stop reason.</param>
    void RequestPowerOff(string source);
}
