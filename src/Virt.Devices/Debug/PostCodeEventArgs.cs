namespace Virt.Devices;

/// <summary>A POST code the guest wrote.</summary>
/// <param name="code">The byte written.</param>
/// <param name="guestTimeNanoseconds">The guest time of the write, when the port has a clock; otherwise -1.</param>
public sealed class PostCodeEventArgs(byte code, long guestTimeNanoseconds) : EventArgs
{
    /// <summary>The byte written.</summary>
    public byte Code { get; } = code;

    /// <summary>The guest time of the write in nanoseconds, or -1 when the port has no clock.</summary>
    public long GuestTimeNanoseconds { get; } = guestTimeNanoseconds;
}
