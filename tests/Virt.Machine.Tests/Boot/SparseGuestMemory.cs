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
        ulong a = address.Value;
        while (!destination.IsEmpty)
        {
            int offset = (int)(a & 0xFFF);
            int count = Math.Min(destination.Length, 4096 - offset);
            if (_pages.TryGetValue(a >> 12, out byte[]? page))
            {
                page.AsSpan(offset, count).CopyTo(destination);
            }
            else
            {
                destination[..count].Clear();
            }

            destination = destination[count..];
            a += (ulong)count;
        }
    }

    public void Write(PhysicalAddress address, ReadOnlySpan<byte> source)
    {
        WriteCount++;
        ulong a = address.Value;
        while (!source.IsEmpty)
        {
            int offset = (int)(a & 0xFFF);
            int count = Math.Min(source.Length, 4096 - offset);
            ReadOnlySpan<byte> part = source[..count];

            // Zeros written to a page never written before change nothing it reads: keep the dictionary small when a
            // loader zeroes megabytes of bss.
            if (_pages.TryGetValue(a >> 12, out byte[]? page) || part.IndexOfAnyExcept((byte)0) >= 0)
            {
                if (page is null)
                {
                    page = new byte[4096];
                    _pages[a >> 12] = page;
                }

                part.CopyTo(page.AsSpan(offset));
            }

            source = source[count..];
            a += (ulong)count;
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
