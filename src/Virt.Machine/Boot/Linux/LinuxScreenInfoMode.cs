namespace Virt.Machine.Boot;

/// <summary>What the Linux loader writes into <c>screen_info</c> at the start of the zero page.</summary>
public enum LinuxScreenInfoMode
{
    /// <summary>
    /// No display: video mode, columns and lines zero, so the kernel's VGA console stays off
    /// (drivers/video/console/vgacon.c gives up when all three are zero) and a <c>console=ttyS0</c>
    /// kernel runs on the serial port alone.
    /// </summary>
    None,

    /// <summary>
    /// A VGA adapter in text mode 3, 80 × 25, 16-line font, cursor at the top left, as the BIOS would
    /// leave it: the kernel's VGA console drives B8000h.
    /// </summary>
    VgaText80x25,
}
