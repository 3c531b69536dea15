namespace Virt.Devices;

/// <summary>Sees every configuration access that goes through <see cref="PciBus"/>'s mechanism #1 ports (for traces).</summary>
public interface IPciConfigurationObserver
{
    /// <summary>Called after a configuration read.</summary>
    /// <param name="address">The function addressed (it may be absent).</param>
    /// <param name="register">The byte offset in its configuration space.</param>
    /// <param name="sizeInBytes">1, 2 or 4.</param>
    /// <param name="value">The value returned (all ones for an absent function).</param>
    /// <param name="present">Whether a function answered.</param>
    void OnConfigurationRead(PciFunctionAddress address, int register, int sizeInBytes, uint value, bool present);

    /// <summary>Called before a configuration write is applied.</summary>
    /// <param name="address">The function addressed (it may be absent).</param>
    /// <param name="register">The byte offset in its configuration space.</param>
    /// <param name="sizeInBytes">1, 2 or 4.</param>
    /// <param name="value">The value written.</param>
    /// <param name="present">Whether a function takes it.</param>
    void OnConfigurationWrite(PciFunctionAddress address, int register, int sizeInBytes, uint value, bool present);
}
