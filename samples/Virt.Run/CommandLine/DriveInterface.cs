namespace Virt.Run.CommandLine;

/// <summary>The controller a <c>-drive</c> sits on (QEMU's <c>if=</c>).</summary>
public enum DriveInterface
{
    /// <summary>The PIIX3 IDE controller: index 0 to 3 are the primary master and slave, then the secondary master and slave.</summary>
    Ide,

    /// <summary>The floppy controller: index 0 is drive A:, 1 is drive B:.</summary>
    Floppy,
}
