using System.Text;
using Iced.Intel;
using Virt.Machine.Tests.Running;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Floppy;

/// <summary>
/// A 1.44 MB floppy image whose boot sector (our own, assembled here) reads the whole disk track by track through INT 13h
/// AH=02h, folds every byte after the boot sector into a 16-bit checksum (rotate left by one, XOR the byte), compares it
/// with the one the image carries at offset 1FCh and prints <c>FLOPPY OK xxxx</c> or <c>FLOPPY BAD xxxx</c> (or
/// <c>FLOPPY ERR xx</c> with the INT 13h status) on COM1, then halts.
/// </summary>
internal static class FloppyBootSector
{
    public const int Cylinders = 80;
    public const int Heads = 2;
    public const int SectorsPerTrack = 18;
    public const int ImageSize = Cylinders * Heads * SectorsPerTrack * 512;
    private const int TrackBytes = SectorsPerTrack * 512;
    private const ushort BootAddress = 0x7C00;
    private const ushort BufferSegment = 0x1000;
    private const int TextOkOffset = 0x1C0;
    private const int TextBadOffset = 0x1D0;
    private const int TextErrOffset = 0x1E0;
    private const int NewlineOffset = 0x1F0;
    private const int DriveOffset = 0x1F8;
    private const int ChecksumOffset = 0x1FC;
    private const ushort Com1 = 0x3F8;
    private const ushort Com1LineStatus = Com1 + 5;
    private const byte TransmitterEmpty = 0x20;

    /// <summary>The checksum the boot sector computes over <paramref name="image"/> from byte 512 on.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> image)
    {
        ushort sum = 0;
        foreach (byte b in image[512..])
        {
            sum = (ushort)((sum << 1) | (sum >> 15));
            sum ^= b;
        }

        return sum;
    }

    /// <summary>A bootable image: seeded pseudo-random data after our boot sector, which carries the data's checksum.</summary>
    public static byte[] CreateImage(int seed)
    {
        byte[] image = new byte[ImageSize];
        new Random(seed).NextBytes(image.AsSpan(512));
        byte[] code = Assemble();
        if (code.Length > TextOkOffset)
        {
            throw new InvalidOperationException($"The boot sector's code is {code.Length} bytes; it must fit below {TextOkOffset:X}h.");
        }

        image.AsSpan(0, 512).Clear();
        code.CopyTo(image, 0);
        Encoding.ASCII.GetBytes("FLOPPY OK \0").CopyTo(image, TextOkOffset);
        Encoding.ASCII.GetBytes("FLOPPY BAD \0").CopyTo(image, TextBadOffset);
        Encoding.ASCII.GetBytes("FLOPPY ERR \0").CopyTo(image, TextErrOffset);
        Encoding.ASCII.GetBytes("\r\n\0").CopyTo(image, NewlineOffset);
        ushort sum = Checksum(image);
        image[ChecksumOffset] = (byte)sum;
        image[ChecksumOffset + 1] = (byte)(sum >> 8);
        image[0x1FE] = 0x55;
        image[0x1FF] = 0xAA;
        return image;
    }

    private static byte[] Assemble() => GuestPrograms.Assemble16(BootAddress, a =>
    {
        Label nextTrack = a.CreateLabel();
        Label retry = a.CreateLabel();
        Label readOk = a.CreateLabel();
        Label sumStart = a.CreateLabel();
        Label sumLoop = a.CreateLabel();
        Label failed = a.CreateLabel();
        Label bad = a.CreateLabel();
        Label printSum = a.CreateLabel();
        Label finish = a.CreateLabel();
        Label halt = a.CreateLabel();
        Label printString = a.CreateLabel();
        Label stringDone = a.CreateLabel();
        Label printHex16 = a.CreateLabel();
        Label printHex8 = a.CreateLabel();
        Label hexDigit = a.CreateLabel();
        Label printChar = a.CreateLabel();
        Label waitThre = a.CreateLabel();
        ushort driveByte = BootAddress + DriveOffset;

        a.cli();
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.mov(ss, ax);
        a.mov(sp, BootAddress);
        a.sti();
        a.cld();
        a.mov(__byte_ptr[driveByte], dl);
        a.xor(bp, bp);                               // the checksum
        a.xor(cx, cx);                               // CH = cylinder
        a.xor(dh, dh);                               // DH = head

        a.Label(ref nextTrack);
        a.mov(di, 3);                                // tries per track
        a.Label(ref retry);
        a.push(cx);
        a.push(dx);
        a.mov(ax, BufferSegment);
        a.mov(es, ax);
        a.xor(bx, bx);
        a.mov(cl, 1);
        a.mov(dl, __byte_ptr[driveByte]);
        a.mov(ax, 0x0200 | SectorsPerTrack);         // AH=02h read, AL = a whole track
        a.@int(0x13);
        a.pop(dx);
        a.pop(cx);
        a.jnc(readOk);
        a.push(ax);
        a.xor(ax, ax);                               // AH=00h reset, then try again
        a.mov(dl, __byte_ptr[driveByte]);
        a.@int(0x13);
        a.pop(ax);
        a.dec(di);
        a.jnz(retry);
        a.jmp(failed);

        a.Label(ref readOk);
        a.xor(si, si);
        a.test(ch, ch);
        a.jnz(sumStart);
        a.test(dh, dh);
        a.jnz(sumStart);
        a.mov(si, 512);                              // the boot sector itself is not summed
        a.Label(ref sumStart);
        a.push(ds);
        a.mov(ax, BufferSegment);
        a.mov(ds, ax);
        a.Label(ref sumLoop);
        a.rol(bp, 1);
        a.lodsb();
        a.xor(ah, ah);
        a.xor(bp, ax);
        a.cmp(si, TrackBytes);
        a.jb(sumLoop);
        a.pop(ds);
        a.inc(dh);
        a.cmp(dh, Heads);
        a.jb(nextTrack);
        a.xor(dh, dh);
        a.inc(ch);
        a.cmp(ch, Cylinders);
        a.jb(nextTrack);

        a.cmp(bp, __word_ptr[BootAddress + ChecksumOffset]);
        a.jne(bad);
        a.mov(si, BootAddress + TextOkOffset);
        a.call(printString);
        a.jmp(printSum);
        a.Label(ref bad);
        a.mov(si, BootAddress + TextBadOffset);
        a.call(printString);
        a.Label(ref printSum);
        a.mov(ax, bp);
        a.call(printHex16);
        a.jmp(finish);

        a.Label(ref failed);
        a.mov(bl, ah);                               // the INT 13h status
        a.mov(si, BootAddress + TextErrOffset);
        a.call(printString);
        a.mov(al, bl);
        a.call(printHex8);

        a.Label(ref finish);
        a.mov(si, BootAddress + NewlineOffset);
        a.call(printString);
        a.Label(ref halt);
        a.cli();
        a.hlt();
        a.jmp(halt);

        a.Label(ref printString);                    // DS:SI, NUL-terminated
        a.lodsb();
        a.test(al, al);
        a.jz(stringDone);
        a.call(printChar);
        a.jmp(printString);
        a.Label(ref stringDone);
        a.ret();

        a.Label(ref printHex16);                     // AX
        a.push(ax);
        a.mov(al, ah);
        a.call(printHex8);
        a.pop(ax);
        a.Label(ref printHex8);                      // AL
        a.push(ax);
        a.shr(al, 4);
        a.call(hexDigit);
        a.pop(ax);
        a.and(al, 0x0F);
        a.Label(ref hexDigit);                       // AL = 0-15
        a.add(al, (byte)'0');
        a.cmp(al, (byte)'9');
        a.jbe(printChar);
        a.add(al, 7);
        a.Label(ref printChar);                      // AL
        a.push(dx);
        a.push(ax);
        a.mov(dx, Com1LineStatus);
        a.Label(ref waitThre);
        a.@in(al, dx);
        a.test(al, TransmitterEmpty);
        a.jz(waitThre);
        a.pop(ax);
        a.mov(dx, Com1);
        a.@out(dx, al);
        a.pop(dx);
        a.ret();
    });
}
