using Virt.Memory;

namespace Virt.Machine.Tests.Boot;

/// <summary>
/// A guest memory for loader tests: sparse 4 KiB pages that read as zero until written, and a count of
/// writes, so a test can prove that a failed load wrote nothing.
/// </summary>
public sealed class SparseGuestMemory : IGuestMemory
{
    private readonly Dictionary<ulong, byte[]> _pages = [];

    public int WriteCount { get; private set; }

    public void Read(PhysicalAddress address, Span<byte> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            ulong a = address.Value + (ulong)i;
            destination[i] = _pages.TryGetValue(a >> 12, out byte[]? page) ? page[a & 0xFFF] : (byte)0;
        }
    }

    public void Write(PhysicalAddress address, ReadOnlySpan<byte> source)
    {
        WriteCount++;
        for (int i = 0; i < source.Length; i++)
        {
            ulong a = address.Value + (ulong)i;
            if (!_pages.TryGetValue(a >> 12, out byte[]? page))
            {
                page = new byte[4096];
                _pages[a >> 12] = page;
            }

            page[a & 0xFFF] = source[i];
        }
    }

    public byte[] ReadBytes(ulong address, int count)
    {
        byte[] bytes = new byte[count];
        Read(new PhysicalAddress(address), bytes);
        return bytes;
    }

    public byte U8(ulong address) => ReadBytes(address, 1)[0];

    public ushort U16(ulong address) => BitConverter.ToUInt16(ReadBytes(address, 2));

    public uint U32(ulong address) => BitConverter.ToUInt32(ReadBytes(address, 4));

    public ulong U64(ulong address) => BitConverter.ToUInt64(ReadBytes(address, 8));

    public string CString(ulong address)
    {
        var text = new System.Text.StringBuilder();
        for (byte b = U8(address); b != 0; b = U8(++address))
        {
            text.Append((char)b);
        }

        return text.ToString();
    }
}
