namespace Virt.Devices;

/// <summary>Argument checks shared by the block backends (see <see cref="IBlockDevice"/>'s rules for offsets and lengths).</summary>
public static class BlockRequest
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless the request is sector-aligned and within the device.</summary>
    /// <param name="device">The device the request is for.</param>
    /// <param name="offset">The byte offset.</param>
    /// <param name="length">The byte length.</param>
    public static void Validate(IBlockDevice device, long offset, int length)
    {
        ArgumentNullException.ThrowIfNull(device);
        int sector = device.SectorSize;
        if (offset < 0 || offset % sector != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"'{device.Name}': the offset must be a non-negative multiple of the {sector}-byte sector.");
        }

        if (length < 0 || length % sector != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"'{device.Name}': the length must be a whole number of {sector}-byte sectors.");
        }

        if (offset > device.CapacityInBytes - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"'{device.Name}': {length} bytes at {offset} reach past the capacity of {device.CapacityInBytes} bytes.");
        }
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> when the device is read-only.</summary>
    /// <param name="device">The device to be written.</param>
    public static void EnsureWritable(IBlockDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.IsReadOnly)
        {
            throw new InvalidOperationException($"'{device.Name}' is read-only.");
        }
    }
}
